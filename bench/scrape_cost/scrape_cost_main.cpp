// bench_scrape_cost: does serving /metrics slow training down? A stand-in training step (a float
// matrix product split over all cores, then RunMonitor::on_step with a full StepStats) runs in
// rounds that alternate "no scrapers" and "8 scrapers at 10 Hz each" (a new connection per
// scrape, gzip asked, as a worst case of Prometheus + Grafana + curl users), so drift on this
// shared machine hits both sides alike. The scrapers run on the same machine (a harsher case than
// a Prometheus elsewhere) at normal priority. It prints the median step time of each side, the ratio
// and the slowdown, plus what the scrapers achieved.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "monitoring/run_monitor.h"

using namespace wildreid::monitoring;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  int rounds = 10;         // rounds per side
  int steps = 40;          // steps per round
  int matrix = 192;        // side of the square matrix product per thread
  int threads = 0;         // compute threads (0 = all cores)
  int scrapers = 8;
  double scrape_hz = 10;
  int port = 19390;
};

void usage() {
  std::printf(
      "usage: bench_scrape_cost [options]\n"
      "  --rounds N     rounds per side, alternating no-scrape / scraped (default 10)\n"
      "  --steps N      steps per round (default 40)\n"
      "  --matrix N     per-thread matrix side; sets the step's compute (default 192)\n"
      "  --threads N    compute threads, 0 = all cores (default 0)\n"
      "  --scrapers N   concurrent scrapers (default 8)\n"
      "  --hz F         scrapes per second per scraper (default 10)\n"
      "  --port P       exporter port on 127.0.0.1, next free one if taken (default 19390)\n");
}

bool scrape_once(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char request[] =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n";
    if (::send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) > 0) {
      char buffer[16384];
      ssize_t n, total = 0;
      while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) total += n;
      ok = total > 0;
    }
  }
  ::close(fd);
  return ok;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h") { usage(); return 0; }
    if (i + 1 >= argc) { usage(); return 2; }
    double v = std::atof(argv[++i]);
    if (k == "--rounds") a.rounds = int(v);
    else if (k == "--steps") a.steps = int(v);
    else if (k == "--matrix") a.matrix = int(v);
    else if (k == "--threads") a.threads = int(v);
    else if (k == "--scrapers") a.scrapers = int(v);
    else if (k == "--hz") a.scrape_hz = v;
    else if (k == "--port") a.port = int(v);
    else { usage(); return 2; }
  }
  if (a.threads <= 0) a.threads = std::max(1u, std::thread::hardware_concurrency());

  RunMonitorOptions o;
  o.port = a.port;
  o.port_fallback = true;
  o.bind = "127.0.0.1";
  o.job = "bench";
  o.progress = ProgressMode::kOff;
  o.total_steps = int64_t(a.rounds) * 2 * a.steps;
  RunMonitor monitor(o);
  int port = monitor.bound_port();

  // Compute: each thread multiplies its own N x N matrices; the step ends when all are done.
  const int n = a.matrix;
  std::vector<std::vector<float>> A(a.threads, std::vector<float>(n * n, 1.0f / n)), B = A,
      C(a.threads, std::vector<float>(n * n));
  std::atomic<bool> quit{false};
  std::barrier start_line(a.threads + 1), finish_line(a.threads + 1);
  std::vector<std::thread> workers;
  for (int t = 0; t < a.threads; ++t) {
    workers.emplace_back([&, t] {
      for (;;) {
        start_line.arrive_and_wait();
        if (quit) return;
        auto &x = A[t], &y = B[t], &z = C[t];
        for (int i = 0; i < n; ++i)
          for (int k = 0; k < n; ++k) {
            float xik = x[i * n + k];
            for (int j = 0; j < n; ++j) z[i * n + j] += xik * y[k * n + j];
          }
        finish_line.arrive_and_wait();
      }
    });
  }

  std::atomic<bool> scraping{false};
  std::atomic<long> scrapes_ok{0}, scrapes_failed{0};
  std::vector<std::thread> scrapers;
  for (int s = 0; s < a.scrapers; ++s) {
    scrapers.emplace_back([&, s] {
      auto period = std::chrono::duration<double>(1.0 / a.scrape_hz);
      auto next = Clock::now() + period * (double(s) / a.scrapers);  // spread the phases
      while (!quit) {
        std::this_thread::sleep_until(next);
        next += std::chrono::duration_cast<Clock::duration>(period);
        if (!scraping) continue;
        (scrape_once(port) ? scrapes_ok : scrapes_failed).fetch_add(1);
      }
    });
  }

  int64_t step = 0;
  auto run_round = [&]() {
    std::vector<double> times;
    for (int s = 0; s < a.steps; ++s) {
      auto t0 = Clock::now();
      start_line.arrive_and_wait();
      finish_line.arrive_and_wait();
      StepStats st;
      st.step = ++step;
      st.images = 32;
      st.loss = 1.0 / double(step);
      st.lr = 1e-4;
      st.grad_norm = 1;
      st.step_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      st.phases.forward = st.step_seconds / 3;
      st.phases.backward = st.step_seconds / 2;
      st.phases.optimizer = st.step_seconds / 6;
      monitor.on_step(st);
      times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return times;
  };

  run_round();  // warm-up
  std::vector<double> quiet, scraped;
  for (int r = 0; r < a.rounds; ++r) {
    scraping = false;
    auto q = run_round();
    quiet.insert(quiet.end(), q.begin(), q.end());
    scraping = true;
    auto s = run_round();
    scraped.insert(scraped.end(), s.begin(), s.end());
  }
  scraping = false;
  quit = true;
  start_line.arrive_and_wait();
  for (auto& w : workers) w.join();
  for (auto& s : scrapers) s.join();

  double mq = median(quiet), ms = median(scraped);
  double scraped_seconds = 0;
  for (double t : scraped) scraped_seconds += t;
  std::printf("compute threads: %d, matrix %d, %d rounds x %d steps per side\n", a.threads, n,
              a.rounds, a.steps);
  std::printf("step time median, no scrapers: %.3f ms\n", mq * 1e3);
  std::printf("step time median, %d scrapers at %.0f Hz: %.3f ms\n", a.scrapers, a.scrape_hz, ms * 1e3);
  std::printf("ratio scraped/none: %.4f\n", ms / mq);
  std::printf("slowdown: %.2f %%\n", (ms / mq - 1) * 100);
  std::printf("scrapes answered: %ld (%.1f/s while scraping), failed: %ld\n", scrapes_ok.load(),
              scrapes_ok.load() / scraped_seconds, scrapes_failed.load());
  monitor.close();
  return 0;
}

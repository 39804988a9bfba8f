// A real Prometheus (Debian's `prometheus`, loopback only, temp dir, 1 s scrapes, file_sd from
// the run directory) scrapes a 2-rank run under `mpirun -np 2 --oversubscribe`. Afterwards the
// test asks Prometheus's HTTP API (query_range over the run's time span) that
//   - rate(wildreid_train_images_total[...]) was positive for rank 0 and rank 1, and
//   - every PromQL expression of the Grafana dashboard returned data
//     ($job and $__rate_interval substituted as Grafana would), except that the GPU health
//     panels (NVML families) must return data exactly when the run published them: the stand-in
//     does, through the fake NVML library (fake_nvml.c); the trainer's CPU run must not.
// The run is the real `trainer train` when that binary and configs/tiny_cpu.yaml exist, and the
// monitoring stand-in (same RunMonitor calls, synthetic timings) in its own test.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/monitoring/http_test_client.h"

namespace wildreid::monitoring {
namespace {

namespace fs = std::filesystem;
using testing::free_loopback_port;
using testing::http_raw;

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A child process whose stdout/stderr go to a log file; killed (SIGTERM, then SIGKILL) on scope exit.
struct Child {
  pid_t pid = -1;
  fs::path log;
  Child(const std::vector<std::string>& argv, const fs::path& log_path) : log(log_path) {
    pid = fork();
    if (pid == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setpgid(0, 0);  // own group: mpirun's ranks die with it
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  // Exit status, or -1 on timeout (the child is then killed).
  int wait(double timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    stop();
    return -1;
  }
  void stop() {
    if (pid <= 0) return;
    kill(-pid, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
  std::string output() const {
    std::ifstream in(log);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  ~Child() { stop(); }
};

std::string url_encode(const std::string& s) {
  std::string out;
  char hex[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// HTTP/1.0 so Prometheus (Go net/http) answers without chunked encoding and closes.
nlohmann::json prometheus_get(int port, const std::string& path_and_query) {
  auto reply = http_raw(port, "GET " + path_and_query + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", 10000);
  if (reply.status != 200 && reply.status != 400 && reply.status != 422)
    throw std::runtime_error("prometheus " + path_and_query + ": HTTP " + std::to_string(reply.status));
  return nlohmann::json::parse(reply.body);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

// The families only a CUDA run with NVML publishes (monitoring/nvml_metrics.h).
const std::vector<std::string> kNvmlFamilies = {
    "wildreid_gpu_utilization_ratio", "wildreid_gpu_memory_used_bytes",
    "wildreid_gpu_memory_total_bytes", "wildreid_gpu_power_watts",
    "wildreid_gpu_temperature_celsius"};

bool names_nvml_family(const std::string& expr) {
  for (const auto& family : kNvmlFamilies)
    if (expr.find(family) != std::string::npos) return true;
  return false;
}

std::vector<std::string> dashboard_expressions(const fs::path& dashboard) {
  std::ifstream in(dashboard);
  auto json = nlohmann::json::parse(in);
  std::vector<std::string> exprs;
  for (const auto& panel : json.at("panels"))
    for (const auto& target : panel.value("targets", nlohmann::json::array()))
      exprs.push_back(target.at("expr").get<std::string>());
  return exprs;
}

struct PrometheusServer {
  int port = 0;
  std::unique_ptr<Child> process;
  PrometheusServer(const fs::path& dir, const fs::path& targets_file) {
    port = free_loopback_port();
    std::ofstream(dir / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           "scrape_configs:\n  - job_name: wildreid\n    honor_labels: true\n"
           "    scrape_timeout: 900ms\n    file_sd_configs:\n      - files: ['"
        << targets_file.string() << "']\n        refresh_interval: 1s\n";
    process = std::make_unique<Child>(
        std::vector<std::string>{"prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                 "--log.level=warn"},
        dir / "prometheus.log");
  }
  bool wait_ready(double timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if (http_raw(port, "GET /-/ready HTTP/1.0\r\n\r\n", 1000).status == 200) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  // Series returned by query_range over [start, end] at 1 s resolution.
  nlohmann::json range(const std::string& query, double start, double end) {
    char times[128];
    std::snprintf(times, sizeof(times), "&start=%.3f&end=%.3f&step=1", start, end);
    auto json = prometheus_get(port, "/api/v1/query_range?query=" + url_encode(query) + times);
    if (json.value("status", "") != "success")
      throw std::runtime_error("query failed: " + query + ": " + json.dump());
    return json.at("data").at("result");
  }
};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/wildreid-prom-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    if (!::testing::Test::HasFailure()) fs::remove_all(path);
  }
};

fs::path source_dir() {
  const char* s = std::getenv("WILDREID_SOURCE");
  return s ? fs::path(s) : fs::current_path();
}
fs::path bin_dir() {
  const char* b = std::getenv("WILDREID_BIN");
  return b ? fs::path(b) : fs::current_path();
}

// Starts Prometheus, runs `run` (an argv whose run directory is run_dir), checks the API.
// gpu_health: the run publishes the NVML families (their panels must have data, otherwise none).
void check_run_against_prometheus(const TempDir& tmp, const fs::path& run_dir,
                                  const std::vector<std::string>& run, const std::string& job,
                                  bool gpu_health) {
  fs::create_directories(run_dir);
  PrometheusServer prometheus(tmp.path, run_dir / "prometheus_targets.json");
  ASSERT_TRUE(prometheus.wait_ready(30)) << prometheus.process->output();
  double start = now_unix();
  Child training(run, tmp.path / "training.log");
  int status = training.wait(240);
  double end = now_unix() + 1;
  ASSERT_EQ(status, 0) << training.output();
  ASSERT_TRUE(fs::exists(run_dir / "prometheus_targets.json")) << training.output();
  ASSERT_TRUE(fs::exists(run_dir / "metrics.jsonl"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // let the last scrape land

  auto per_rank = prometheus.range(
      "sum by (rank) (rate(wildreid_train_images_total{job=\"" + job + "\"}[4s])) > 0", start, end);
  std::set<std::string> ranks;
  for (const auto& series : per_rank) ranks.insert(series.at("metric").value("rank", ""));
  EXPECT_EQ(ranks, (std::set<std::string>{"0", "1"}))
      << per_rank.dump() << "\n" << training.output() << prometheus.process->output();

  auto exprs = dashboard_expressions(source_dir() / "monitoring/grafana/wildreid_training.json");
  ASSERT_GE(exprs.size(), 10u);
  std::set<std::string> gpu_families_shown;
  for (auto expr : exprs) {
    replace_all(expr, "$job", job);
    replace_all(expr, "$__rate_interval", "4s");  // Grafana: 4 x the 1 s scrape interval
    auto result = prometheus.range(expr, start, end);
    if (!names_nvml_family(expr) || gpu_health) {
      EXPECT_FALSE(result.empty()) << "dashboard expression returned no data: " << expr;
    } else {
      EXPECT_TRUE(result.empty()) << "GPU health without NVML: " << expr << " " << result.dump();
    }
    for (const auto& family : kNvmlFamilies)
      if (expr.find(family) != std::string::npos) gpu_families_shown.insert(family);
  }
  EXPECT_EQ(gpu_families_shown.size(), kNvmlFamilies.size()) << "a GPU health family has no panel";
}

bool mpirun_available() { return std::system("command -v mpirun >/dev/null 2>&1") == 0; }
bool prometheus_available() { return std::system("command -v prometheus >/dev/null 2>&1") == 0; }

std::vector<std::string> mpirun_prefix() {
  // CI runs as root; OpenMPI refuses that unless told (scripts/env.sh sets the same).
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  return {"mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none"};
}

TEST(PrometheusIntegration, StandInRanksFeedEveryDashboardPanel) {
  ASSERT_TRUE(prometheus_available()) << "install Debian `prometheus` (scripts/setup)";
  ASSERT_TRUE(mpirun_available()) << "install openmpi-bin (scripts/setup)";
  TempDir tmp;
  auto run_dir = tmp.path / "run";
  int port = free_loopback_port();
  auto argv = mpirun_prefix();
  const std::vector<std::string> standin = {
      (bin_dir() / "monitoring_standin_training").string(), "--port", std::to_string(port),
      "--run-dir", run_dir.string(), "--job", "standin-it", "--steps", "40", "--step-ms", "200",
      "--linger", "3", "--nvml-library", WILDREID_FAKE_NVML,
      "--gpu-uuid", "GPU-01234567-89ab-cdef-0123-456789abcdef"};
  argv.insert(argv.end(), standin.begin(), standin.end());
  check_run_against_prometheus(tmp, run_dir, argv, "standin-it", /*gpu_health=*/true);
}

// The real thing: a synthetic dataset packed into shards, then `trainer train` with
// configs/tiny_cpu.yaml on 2 ranks, exporters on loopback.
TEST(PrometheusIntegration, RealTrainerTwoRanksFeedEveryDashboardPanel) {
  ASSERT_TRUE(prometheus_available()) << "install Debian `prometheus` (scripts/setup)";
  ASSERT_TRUE(mpirun_available()) << "install openmpi-bin (scripts/setup)";
  const auto trainer = bin_dir() / "trainer";
  const auto config = source_dir() / "configs/tiny_cpu.yaml";
  ASSERT_TRUE(fs::exists(trainer)) << trainer << " not built";
  ASSERT_TRUE(fs::exists(config)) << config;
  TempDir tmp;
  {
    Child synth({trainer.string(), "synth", "--out", (tmp.path / "synth").string(), "--identities",
                 "6", "--unknowns", "1", "--images", "6", "--size", "64", "--quiet"},
                tmp.path / "synth.log");
    ASSERT_EQ(synth.wait(120), 0) << synth.output();
    Child pack({trainer.string(), "pack", "--metadata", (tmp.path / "synth/metadata.csv").string(),
                "--out", (tmp.path / "shards").string()},
               tmp.path / "pack.log");
    ASSERT_EQ(pack.wait(120), 0) << pack.output();
  }
  auto run_dir = tmp.path / "run";
  int port = free_loopback_port();
  auto argv = mpirun_prefix();
  const std::vector<std::string> train = {
      trainer.string(), "train", "--config", config.string(),
      "--set", "data.shards=" + (tmp.path / "shards").string(),
      "--set", "run.dir=" + run_dir.string(),
      "--set", "metrics.port=" + std::to_string(port),
      "--set", "metrics.bind=127.0.0.1",
      "--set", "metrics.job=tiny-it",
      // Long enough (80 steps, 15 s or more) for several 1 s scrapes of each rank inside every
      // rate() window whatever the machine's speed, and the exporters linger so the final
      // values are scraped too.
      "--set", "train.epochs=40",
      "--set", "metrics.linger_s=3"};
  argv.insert(argv.end(), train.begin(), train.end());
  check_run_against_prometheus(tmp, run_dir, argv, "tiny-it", /*gpu_health=*/false);
}

}  // namespace
}  // namespace wildreid::monitoring

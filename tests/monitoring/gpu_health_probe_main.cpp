// monitoring_gpu_health_probe: a RunMonitor with NVML GPU health (monitoring/nvml_metrics.h) and
// its exporter, scraped over HTTP by this same process a few times, printing the GPU health
// lines of each scrape. For a GPU machine's check, where the LibTorch-only build has no trainer:
// run it beside a GPU benchmark and the scrapes show that GPU's utilisation, memory, power and
// temperature as Prometheus would get them. Needs no LibTorch, MPI or CUDA (only the driver's
// libnvidia-ml.so.1, or --library). Exit status 0 when the last scrape had all five families,
// 1 otherwise (the reason is in the log line above), 2 on bad usage.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "monitoring/run_monitor.h"
#include "tests/monitoring/http_test_client.h"

using namespace wildreid::monitoring;

namespace {

const char* kUsage =
    "usage: monitoring_gpu_health_probe [--nvml-index N=0 | --gpu-uuid UUID]\n"
    "         [--library NAME=libnvidia-ml.so.1] [--scrapes K=1] [--interval-ms MS=1000]\n";

const std::vector<std::string> kFamilies = {
    "wildreid_gpu_utilization_ratio", "wildreid_gpu_memory_used_bytes",
    "wildreid_gpu_memory_total_bytes", "wildreid_gpu_power_watts",
    "wildreid_gpu_temperature_celsius"};

}  // namespace

int main(int argc, char** argv) {
  RunMonitorOptions o;
  o.port = 9400;
  o.port_fallback = true;
  o.bind = "127.0.0.1";
  o.job = "gpu-health-probe";
  o.progress = ProgressMode::kOff;
  o.nvml.nvml_index = 0;
  int scrapes = 1, interval_ms = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: missing value or unknown option\n%s", a.c_str(), kUsage);
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--nvml-index") o.nvml.nvml_index = std::atoi(v.c_str());
    else if (a == "--gpu-uuid") o.nvml.gpu_uuid = v, o.nvml.nvml_index = -1;
    else if (a == "--library") o.nvml.library = v;
    else if (a == "--scrapes") scrapes = std::atoi(v.c_str());
    else if (a == "--interval-ms") interval_ms = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  RunMonitor monitor(o);
  std::printf("gpu health probe: scraping http://127.0.0.1:%d/metrics\n", monitor.bound_port());
  size_t found = 0;
  for (int k = 1; k <= scrapes; ++k) {
    if (k > 1) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    auto reply = testing::http_get(monitor.bound_port(), "/metrics");
    std::printf("scrape %d: HTTP %d\n", k, reply.status);
    found = 0;
    std::istringstream lines(reply.body);
    for (std::string line; std::getline(lines, line);) {
      for (const auto& family : kFamilies)
        if (line.rfind(family + "{", 0) == 0) {
          std::printf("  %s\n", line.c_str());
          ++found;
        }
    }
    std::fflush(stdout);
  }
  monitor.close();
  if (found == kFamilies.size()) return 0;
  std::printf("gpu health probe: %zu of %zu GPU health series in the last scrape\n", found,
              kFamilies.size());
  return 1;
}

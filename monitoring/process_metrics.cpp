// /proc/self/statm (resident pages) and /proc/self/stat (utime + stime in clock ticks).
#include "monitoring/process_metrics.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace wildreid::monitoring {

double read_resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double read_cpu_seconds() {
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  // The command name (field 2) may contain spaces; fields after its closing ')' are fixed.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

ProcessMetrics::ProcessMetrics(RankRegistry& registry)
    : resident_(registry.gauge("wildreid_process_resident_memory_bytes",
                               "Resident set size of this rank's process in bytes").Add({})),
      cpu_(registry.counter("wildreid_process_cpu_seconds_total",
                            "User and system CPU time of this rank's process in seconds").Add({})) {}

void ProcessMetrics::refresh() {
  resident_.Set(read_resident_memory_bytes());
  std::lock_guard lock(mutex_);
  double now = read_cpu_seconds();
  if (now > reported_cpu_) {
    cpu_.Increment(now - reported_cpu_);
    reported_cpu_ = now;
  }
}

}  // namespace wildreid::monitoring

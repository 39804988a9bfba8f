// Process resident memory and CPU seconds, read from /proc when a scrape arrives (the exporter's
// before-scrape hook), so they cost nothing between scrapes and are fresh in every one.
// prometheus-cpp has no process collector, so these stay ours.
#pragma once
#include <mutex>

#include "monitoring/rank_registry.h"

namespace wildreid::monitoring {

// wildreid_process_resident_memory_bytes and wildreid_process_cpu_seconds_total.
class ProcessMetrics {
 public:
  explicit ProcessMetrics(RankRegistry& registry);
  // Reads /proc/self; safe to call from concurrent scrapes.
  void refresh();

 private:
  prometheus::Gauge& resident_;
  prometheus::Counter& cpu_;
  std::mutex mutex_;
  double reported_cpu_ = 0;
};

// Current values (0 when /proc cannot be read); exposed for tests.
double read_resident_memory_bytes();
double read_cpu_seconds();

}  // namespace wildreid::monitoring

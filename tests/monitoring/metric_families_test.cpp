// The naming contract of the trainer's metrics: after every kind of RunMonitor report, a scrape's
// families (HELP and TYPE lines), series names, label keys and label values (bucket bounds,
// phases, status codes, fixed run labels) must equal tests/monitoring/fixtures/metric_families.txt,
// the set the hand-written exporter served before monitoring moved onto prometheus-cpp. The
// Grafana dashboard, prometheus.yml and recorded queries depend on exactly these names.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "monitoring/run_monitor.h"
#include "tests/monitoring/exposition_reader.h"
#include "tests/monitoring/http_test_client.h"

namespace wildreid::monitoring {
namespace {

using testing::free_loopback_port;
using testing::http_get;
using testing::naming_contract;

const char* kFixture = "tests/monitoring/fixtures/metric_families.txt";

// A scrape after on_step (a skipped step, decode errors), on_validation, on_checkpoint and
// set_gpu_memory, so that every family the trainer can publish is present.
std::string full_scrape() {
  RunMonitorOptions o;
  o.port = free_loopback_port();
  o.port_fallback = true;
  o.bind = "127.0.0.1";
  o.job = "families";
  o.rank = 1;
  o.local_rank = 1;
  o.world_size = 2;
  o.is_rank0 = false;
  o.node = "node-a";
  o.progress = ProgressMode::kOff;
  o.total_steps = 4;
  o.build = {"1.2.3", "2.11.0", "13.0", "2.27.5"};
  RunMonitor monitor(o);
  for (int n = 1; n <= 4; ++n) {
    StepStats s;
    s.step = n;
    s.images = 8;
    s.loss = 1.0 / n;
    s.step_seconds = 0.01 * n;
    s.phases = {0.001, 0.002, 0.003, 0.004, 0.005};
    s.skipped_nonfinite = n == 2;
    s.new_decode_errors = n == 3 ? 1 : 0;
    monitor.on_step(s);
  }
  monitor.on_validation(0, 0.5, 0.25);
  monitor.on_checkpoint(0.75);
  monitor.set_gpu_memory({100, 200, 150});
  http_get(monitor.bound_port(), "/nowhere");  // the exporter's own 404 count
  auto reply = http_get(monitor.bound_port(), "/metrics");
  EXPECT_EQ(reply.status, 200);
  return reply.body;
}

std::set<std::string> wildreid_lines(const std::set<std::string>& contract) {
  std::set<std::string> out;
  for (const auto& line : contract) {
    std::string name = line.rfind("# ", 0) == 0 ? line.substr(7) : line;  // after "# HELP " / "# TYPE "
    if (name.rfind("wildreid_", 0) == 0) out.insert(line);
  }
  return out;
}

TEST(MetricFamilies, ScrapeMatchesTheRecordedNamingContract) {
  std::set<std::string> actual = wildreid_lines(naming_contract(full_scrape()));
  std::ifstream in(kFixture);
  ASSERT_TRUE(in) << "cannot read " << kFixture;
  std::set<std::string> expected;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) expected.insert(line);
  ASSERT_GT(expected.size(), 50u) << kFixture << " looks truncated";
  for (const auto& line : expected) EXPECT_TRUE(actual.count(line)) << "missing: " << line;
  for (const auto& line : actual) EXPECT_TRUE(expected.count(line)) << "not in the fixture: " << line;
}

}  // namespace
}  // namespace wildreid::monitoring

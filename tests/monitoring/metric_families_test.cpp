// The naming contract of the trainer's metrics: after every kind of RunMonitor report, a scrape's
// families (HELP and TYPE lines), series names, label keys and label values (bucket bounds,
// phases, status codes, fixed run labels) must equal tests/monitoring/fixtures/metric_families.txt,
// the set the hand-written exporter served before monitoring moved onto prometheus-cpp, plus the
// GPU health families added since (nvml_metrics.h, here from the fake NVML library of
// fake_nvml.c). The Grafana dashboard, prometheus.yml and recorded queries depend on exactly
// these names.
// One family is now the library's under its own name (kReplacedByLibrary); besides it the library
// adds only its own exposer_* families, which carry none of our labels.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
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

// Recorded family -> the prometheus-cpp family that now reports the same figure.
const std::map<std::string, std::string> kReplacedByLibrary = {
    {"wildreid_exporter_response_bytes_total", "exposer_transferred_bytes_total"}};
// prometheus::Exposer's own families (its handler registers them on every endpoint).
const std::set<std::string> kLibraryFamilies = {
    "exposer_transferred_bytes_total", "exposer_scrapes_total", "exposer_request_latencies"};

// A scrape after on_step (a skipped step, decode errors), on_validation, on_checkpoint and
// set_gpu_memory, with NVML readings, so that every family the trainer can publish is present.
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
  o.nvml.library = WILDREID_FAKE_NVML;
  o.nvml.gpu_uuid = "GPU-01234567-89ab-cdef-0123-456789abcdef";
  o.nvml.log = [](const std::string&) {};
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

// The family a contract line belongs to: the name after "# HELP " / "# TYPE ", or the series
// name without a histogram/summary suffix when that family is known.
std::string family_of(const std::string& line, const std::set<std::string>& families) {
  std::string name = line.rfind("# ", 0) == 0 ? line.substr(7) : line;
  name = name.substr(0, name.find_first_of(" {"));
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
        families.count(name.substr(0, name.size() - s.size())))
      return name.substr(0, name.size() - s.size());
  }
  return name;
}

TEST(MetricFamilies, ScrapeMatchesTheRecordedNamingContract) {
  std::set<std::string> scrape = naming_contract(full_scrape());
  std::ifstream in(kFixture);
  ASSERT_TRUE(in) << "cannot read " << kFixture;
  std::set<std::string> recorded;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) recorded.insert(line);
  ASSERT_GT(recorded.size(), 50u) << kFixture << " looks truncated";

  std::set<std::string> families;  // every family named by a TYPE line, recorded or scraped
  for (const auto* lines : {&recorded, &scrape})
    for (const auto& line : *lines)
      if (line.rfind("# TYPE ", 0) == 0) families.insert(family_of(line, {}));

  std::set<std::string> expected, actual, library;
  for (const auto& line : recorded)
    if (!kReplacedByLibrary.count(family_of(line, families))) expected.insert(line);
  for (const auto& line : scrape) {
    std::string family = family_of(line, families);
    if (family.rfind("wildreid_", 0) == 0) actual.insert(line);
    else library.insert(family);
  }
  for (const auto& line : expected) EXPECT_TRUE(actual.count(line)) << "missing: " << line;
  for (const auto& line : actual) EXPECT_TRUE(expected.count(line)) << "not in the fixture: " << line;
  for (const auto& family : library)
    EXPECT_TRUE(kLibraryFamilies.count(family)) << "unexpected family: " << family;
  for (const auto& [old_name, new_name] : kReplacedByLibrary) {
    EXPECT_TRUE(families.count(old_name)) << old_name << " is not in the fixture";
    EXPECT_TRUE(library.count(new_name)) << new_name << " (replacing " << old_name << ") not scraped";
  }
}

}  // namespace
}  // namespace wildreid::monitoring

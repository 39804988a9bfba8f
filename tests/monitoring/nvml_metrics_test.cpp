// GPU health metrics through NVML (monitoring/nvml_metrics.h), seen the way Prometheus sees them:
// a RunMonitor's real /metrics scrape. No driver is needed: the NVML library is either absent
// (this machine's libnvidia-ml.so.1, or a name that exists nowhere) or the fake one built from
// fake_nvml.c (fixed readings; a mode switch makes its calls fail like a broken driver).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "monitoring/nvml_library.h"
#include "monitoring/run_monitor.h"
#include "tests/monitoring/exposition_reader.h"
#include "tests/monitoring/http_test_client.h"

#ifndef WILDREID_FAKE_NVML
#error "WILDREID_FAKE_NVML (path of the fake NVML library) must be defined by CMake"
#endif

namespace wildreid::monitoring {
namespace {

using testing::free_loopback_port;
using testing::http_get;
using testing::sample_value;

const char* kFakeNvml = WILDREID_FAKE_NVML;
const char* kFakeUuid = "GPU-01234567-89ab-cdef-0123-456789abcdef";
const std::vector<std::string> kGpuFamilies = {
    "wildreid_gpu_utilization_ratio", "wildreid_gpu_memory_used_bytes",
    "wildreid_gpu_memory_total_bytes", "wildreid_gpu_power_watts",
    "wildreid_gpu_temperature_celsius"};

// The fake's control functions, through the test's own handle on the same library (dlopen of the
// same path returns the same instance the monitor loads).
struct FakeNvml {
  void* handle = dlopen(kFakeNvml, RTLD_NOW | RTLD_LOCAL);
  void (*set_mode)(int) = handle ? reinterpret_cast<void (*)(int)>(dlsym(handle, "fake_nvml_set_mode")) : nullptr;
  int (*open_inits)() = handle ? reinterpret_cast<int (*)()>(dlsym(handle, "fake_nvml_open_inits")) : nullptr;
  static constexpr int kWorking = 0, kReadingsFail = 1, kInitFails = 2;
  ~FakeNvml() {
    if (handle) dlclose(handle);
  }
};

// Log lines an NvmlMetrics wrote; written from the exporter's threads during scrapes.
struct LogSink {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> writer() {
    return [this](const std::string& m) {
      std::lock_guard lock(mutex);
      lines.push_back(m);
    };
  }
  std::vector<std::string> containing(const std::string& text) {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& l : lines)
      if (l.find(text) != std::string::npos) out.push_back(l);
    return out;
  }
};

RunMonitorOptions monitor_options(NvmlOptions nvml) {
  RunMonitorOptions o;
  o.port = free_loopback_port();
  o.port_fallback = true;
  o.bind = "127.0.0.1";
  o.job = "gpu";
  o.rank = 2;
  o.local_rank = 1;
  o.world_size = 4;
  o.node = "node-b";
  o.is_rank0 = false;
  o.progress = ProgressMode::kOff;
  o.nvml = std::move(nvml);
  return o;
}

std::string scrape(RunMonitor& monitor) {
  auto reply = http_get(monitor.bound_port(), "/metrics");
  EXPECT_EQ(reply.status, 200);
  return reply.body;
}

// Every line of a scrape that names one of the NVML families (samples, HELP or TYPE).
std::vector<std::string> gpu_lines(const std::string& body) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(start, end - start);
    for (const auto& family : kGpuFamilies)
      if (line.find(family) != std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

// A step so the scrape also shows the run is still reporting.
void one_step(RunMonitor& monitor, int64_t n) {
  StepStats s;
  s.step = n;
  s.images = 4;
  s.loss = 1.5;
  monitor.on_step(s);
}

const std::string kRunLabels = "job=\"gpu\",local_rank=\"1\",node=\"node-b\",rank=\"2\"";

// Three steps, each scraped: the training series keep counting and no GPU series appears.
void steps_report_without_gpu_series(RunMonitor& monitor) {
  for (int n = 1; n <= 3; ++n) {
    one_step(monitor, n);
    std::string body = scrape(monitor);
    EXPECT_TRUE(gpu_lines(body).empty()) << body;
    EXPECT_EQ(sample_value(body, "wildreid_train_steps_total{" + kRunLabels + "}"), n);
  }
}

std::string gpu_series(const std::string& family) {
  return family + "{gpu=\"3\"," + kRunLabels + ",uuid=\"" + kFakeUuid + "\"}";
}

TEST(NvmlLibrary, CanonicalUuidInsertsNvmlDashes) {
  EXPECT_EQ(nvml::canonical_uuid("GPU-0123456789abcdef0123456789abcdef"), kFakeUuid);
  EXPECT_EQ(nvml::canonical_uuid(kFakeUuid), kFakeUuid);
  EXPECT_EQ(nvml::canonical_uuid("GPU-0123456789abcdef0123456789abcdeg"),
            "GPU-0123456789abcdef0123456789abcdeg");  // not hex: left alone
  EXPECT_EQ(nvml::canonical_uuid("MIG-0123456789abcdef0123456789abcdef"),
            "MIG-0123456789abcdef0123456789abcdef");
  EXPECT_EQ(nvml::canonical_uuid(""), "");
}

// (1) No NVML library: no GPU series, the run goes on, one line in the log for the whole process.
TEST(NvmlMetrics, AbsentLibraryExportsNothingAndSaysSoOnce) {
  LogSink log;
  NvmlOptions nvml;
  nvml.gpu_uuid = kFakeUuid;
  nvml.library = "libwildreid-absent-nvml-test.so.1";
  nvml.log = log.writer();
  {
    RunMonitor monitor(monitor_options(nvml));
    steps_report_without_gpu_series(monitor);
  }
  RunMonitor again(monitor_options(nvml));  // same process, same cause: not said again
  EXPECT_TRUE(gpu_lines(scrape(again)).empty());
  auto said = log.containing("not exported");
  ASSERT_EQ(said.size(), 1u) << (said.empty() ? "" : said[1]);
  EXPECT_EQ(log.lines.size(), 1u);
  EXPECT_NE(said[0].find("GPU metrics (NVML) not exported: cannot load "
                         "libwildreid-absent-nvml-test.so.1"), std::string::npos) << said[0];
}

// The default library name on this machine: without a driver it cannot be loaded; with one, no
// GPU has this UUID. Either way nothing is exported and one line says why.
TEST(NvmlMetrics, DefaultLibraryWithAnUnknownGpuExportsNothing) {
  LogSink log;
  NvmlOptions nvml;
  nvml.gpu_uuid = "GPU-ffffffff-ffff-ffff-ffff-fffffffffff0";
  nvml.log = log.writer();
  ASSERT_EQ(nvml.library, "libnvidia-ml.so.1");
  RunMonitor monitor(monitor_options(nvml));
  std::string body = scrape(monitor);
  EXPECT_TRUE(gpu_lines(body).empty()) << body;
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0].rfind("GPU metrics (NVML) not exported: ", 0), 0u) << log.lines[0];
  void* driver = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver) {
    dlclose(driver);
  } else {  // the case of the build and CPU machines
    EXPECT_NE(log.lines[0].find("cannot load libnvidia-ml.so.1"), std::string::npos) << log.lines[0];
  }
}

// (2) The fake library's fixed readings, with the rank's labels and the GPU's, in a scrape that
// promtool accepts; the UUID given in cluster::gpu_uuid's undashed spelling.
TEST(NvmlMetrics, FakeLibraryReadingsAppearWithRankAndGpuLabels) {
  FakeNvml fake;
  ASSERT_TRUE(fake.set_mode && fake.open_inits) << kFakeNvml << ": " << dlerror();
  fake.set_mode(FakeNvml::kWorking);
  LogSink log;
  NvmlOptions nvml;
  nvml.gpu_uuid = "GPU-0123456789abcdef0123456789abcdef";
  nvml.library = kFakeNvml;
  nvml.log = log.writer();
  {
    RunMonitor monitor(monitor_options(nvml));
    EXPECT_EQ(fake.open_inits(), 1);
    one_step(monitor, 1);
    std::string body = scrape(monitor);
    auto v = [&](const std::string& family) { return sample_value(body, gpu_series(family)); };
    EXPECT_EQ(v("wildreid_gpu_utilization_ratio"), 0.73) << body;
    EXPECT_EQ(v("wildreid_gpu_memory_used_bytes"), 12345678848.0);
    EXPECT_EQ(v("wildreid_gpu_memory_total_bytes"), 85899345920.0);
    EXPECT_EQ(v("wildreid_gpu_power_watts"), 312.5);
    EXPECT_EQ(v("wildreid_gpu_temperature_celsius"), 64);
    for (const auto& family : kGpuFamilies)
      EXPECT_NE(body.find("# TYPE " + family + " gauge\n"), std::string::npos) << family;
    EXPECT_EQ(gpu_lines(body).size(), 3 * kGpuFamilies.size()) << body;  // HELP, TYPE, one series
    EXPECT_TRUE(log.containing("not exported").empty());

    char path[] = "/tmp/wildreid-nvml-scrape-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::ofstream(path) << body;
    std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_TRUE(pipe);
    std::string out;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << out;
    EXPECT_EQ(out, "");
    close(fd);
    std::filesystem::remove(path);
  }
  EXPECT_EQ(fake.open_inits(), 0) << "nvmlInit_v2 without nvmlShutdown";
}

// NVML's own index picks the same GPU; its UUID label then comes from nvmlDeviceGetUUID.
TEST(NvmlMetrics, FakeLibraryFoundByNvmlIndex) {
  FakeNvml fake;
  ASSERT_TRUE(fake.set_mode) << kFakeNvml;
  fake.set_mode(FakeNvml::kWorking);
  LogSink log;
  NvmlOptions nvml;
  nvml.nvml_index = 3;
  nvml.library = kFakeNvml;
  nvml.log = log.writer();
  RunMonitor monitor(monitor_options(nvml));
  std::string body = scrape(monitor);
  EXPECT_EQ(sample_value(body, gpu_series("wildreid_gpu_power_watts")), 312.5) << body;
  EXPECT_TRUE(log.containing("not exported").empty());
}

// (3) A fake whose readings fail: no series (and no empty families), no crash, one line per
// failing reading for the whole process; readings that work again come back, and fail again
// without another line.
TEST(NvmlMetrics, FailingReadingsAreWithdrawnAndSaidOnce) {
  FakeNvml fake;
  ASSERT_TRUE(fake.set_mode && fake.open_inits) << kFakeNvml;
  fake.set_mode(FakeNvml::kReadingsFail);
  LogSink log;
  NvmlOptions nvml;
  nvml.gpu_uuid = kFakeUuid;
  nvml.library = kFakeNvml;
  nvml.log = log.writer();
  {
    RunMonitor monitor(monitor_options(nvml));
    steps_report_without_gpu_series(monitor);
    EXPECT_EQ(log.containing("not exported").size(), kGpuFamilies.size());
    for (const auto& family : kGpuFamilies)
      EXPECT_EQ(log.containing("GPU metric " + family + " not exported: ").size(), 1u) << family;
    EXPECT_EQ(log.containing("nvmlDeviceGetPowerUsage failed: GPU is lost").size(), 1u);

    fake.set_mode(FakeNvml::kWorking);
    std::string body = scrape(monitor);
    EXPECT_EQ(sample_value(body, gpu_series("wildreid_gpu_temperature_celsius")), 64) << body;

    fake.set_mode(FakeNvml::kReadingsFail);  // the GPU falls off the bus mid-run
    body = scrape(monitor);
    EXPECT_TRUE(gpu_lines(body).empty()) << body;
    EXPECT_EQ(log.containing("not exported").size(), kGpuFamilies.size());
  }
  EXPECT_EQ(fake.open_inits(), 0);
  fake.set_mode(FakeNvml::kWorking);
}

// Start-up failures past dlopen: nvmlInit_v2 fails, the GPU is not there, the library is not
// NVML at all. Each: nothing exported, said once, NVML not left initialised.
TEST(NvmlMetrics, StartUpFailuresExportNothing) {
  FakeNvml fake;
  ASSERT_TRUE(fake.set_mode && fake.open_inits) << kFakeNvml;
  struct Case {
    int mode;
    std::string uuid, library, message;
  };
  const std::vector<Case> cases = {
      {FakeNvml::kInitFails, kFakeUuid, kFakeNvml, "nvmlInit_v2 failed: Driver Not Loaded"},
      {FakeNvml::kWorking, "GPU-ffffffff-ffff-ffff-ffff-ffffffffffff", kFakeNvml,
       "nvmlDeviceGetHandleByUUID failed: Not Found for GPU-ffffffff-ffff-ffff-ffff-ffffffffffff"},
      {FakeNvml::kWorking, kFakeUuid, "libm.so.6", "libm.so.6 has no nvmlInit_v2"},
  };
  for (const auto& c : cases) {
    fake.set_mode(c.mode);
    LogSink log;
    NvmlOptions nvml;
    nvml.gpu_uuid = c.uuid;
    nvml.library = c.library;
    nvml.log = log.writer();
    RunMonitor monitor(monitor_options(nvml));
    one_step(monitor, 1);
    std::string body = scrape(monitor);
    EXPECT_TRUE(gpu_lines(body).empty()) << c.message << "\n" << body;
    EXPECT_EQ(sample_value(body, "wildreid_train_steps_total{" + kRunLabels + "}"), 1);
    ASSERT_EQ(log.lines.size(), 1u) << c.message;
    EXPECT_EQ(log.lines[0], "GPU metrics (NVML) not exported: " + c.message);
    EXPECT_EQ(fake.open_inits(), 0) << c.message;
  }
  fake.set_mode(FakeNvml::kWorking);
}

// CPU runs (no GPU named) and runs without an exporter never load NVML.
TEST(NvmlMetrics, NotLoadedWithoutAGpuOrWithoutAnExporter) {
  FakeNvml fake;
  ASSERT_TRUE(fake.set_mode && fake.open_inits) << kFakeNvml;
  fake.set_mode(FakeNvml::kWorking);
  LogSink log;
  NvmlOptions cpu_run;
  cpu_run.library = kFakeNvml;
  cpu_run.log = log.writer();
  {
    RunMonitor monitor(monitor_options(cpu_run));
    EXPECT_EQ(fake.open_inits(), 0);
    EXPECT_TRUE(gpu_lines(scrape(monitor)).empty());
  }
  NvmlOptions no_exporter = cpu_run;
  no_exporter.gpu_uuid = kFakeUuid;
  auto o = monitor_options(no_exporter);
  o.port = 0;
  {
    RunMonitor monitor(o);
    EXPECT_EQ(fake.open_inits(), 0);
  }
  EXPECT_TRUE(log.lines.empty());
}

}  // namespace
}  // namespace wildreid::monitoring

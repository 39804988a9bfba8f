// NVML readings turned into gauges; see nvml_metrics.h. A series is created on its first good
// reading and removed (Family::Remove) when a reading fails, so a scrape never shows a stale or
// made-up value; prometheus-cpp leaves a family with no series out of the exposition entirely.
#include "monitoring/nvml_metrics.h"

#include <cstdio>
#include <mutex>
#include <set>

#include "monitoring/nvml_library.h"
#include "monitoring/rank_registry.h"

namespace wildreid::monitoring {
namespace {

// True the first time this process reports `message`: every log line here is said once per
// process, however many scrapes (or monitors) run into the same condition.
bool first_report(const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> reported;
  std::lock_guard lock(mutex);
  return reported.insert(message).second;
}

// One published figure: its family and this GPU's series in it, both made on first use.
struct Reading {
  const char* name;
  const char* help;
  prometheus::Family<prometheus::Gauge>* family = nullptr;
  prometheus::Gauge* gauge = nullptr;
};

}  // namespace

struct NvmlMetrics::Impl {
  RankRegistry& registry;
  NvmlOptions options;
  std::unique_ptr<nvml::Library> lib;  // set only while initialised with the GPU found
  nvml::Device device = nullptr;
  prometheus::Labels device_labels;    // gpu, uuid
  std::mutex mutex;                    // concurrent scrapes

  Reading utilization{"wildreid_gpu_utilization_ratio",
                      "Fraction of NVML's last sample period in which a kernel ran on this rank's "
                      "GPU (ratio 0..1)"};
  Reading memory_used{"wildreid_gpu_memory_used_bytes",
                      "Device memory in use on this rank's GPU by all processes (NVML)"};
  Reading memory_total{"wildreid_gpu_memory_total_bytes", "Device memory of this rank's GPU (NVML)"};
  Reading power{"wildreid_gpu_power_watts", "Power draw of this rank's GPU in watts (NVML)"};
  Reading temperature{"wildreid_gpu_temperature_celsius",
                      "Temperature of this rank's GPU die in degrees Celsius (NVML)"};

  Impl(RankRegistry& r, NvmlOptions o) : registry(r), options(std::move(o)) {
    if (!options.log)
      options.log = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  }

  void say_once(const std::string& message) {
    if (first_report(message)) options.log(message);
  }

  // Loads the library, initialises NVML and finds the GPU; on any failure leaves lib empty.
  void start() {
    std::string why;
    auto loaded = nvml::open(options.library, why);
    if (!loaded) return say_once("GPU metrics (NVML) not exported: " + why);
    if (auto rc = loaded->init(); rc != nvml::kSuccess)
      return say_once("GPU metrics (NVML) not exported: " + loaded->describe("nvmlInit_v2", rc));
    if (!find_device(*loaded, why)) {
      loaded->shutdown();
      return say_once("GPU metrics (NVML) not exported: " + why);
    }
    lib = std::move(loaded);
    say_once("GPU metrics from NVML (" + options.library + "): gpu " + device_labels["gpu"] + " " +
             device_labels["uuid"]);
  }

  // This rank's GPU by UUID (or NVML index) and its labels; false with `why` when NVML says no.
  bool find_device(const nvml::Library& l, std::string& why) {
    auto failed = [&](const char* function, nvml::Return rc, const std::string& what) {
      why = l.describe(function, rc) + what;
      return false;
    };
    std::string uuid = nvml::canonical_uuid(options.gpu_uuid);
    if (!uuid.empty()) {
      if (auto rc = l.handle_by_uuid(uuid.c_str(), &device); rc != nvml::kSuccess)
        return failed("nvmlDeviceGetHandleByUUID", rc, " for " + uuid);
    } else {
      const auto index = static_cast<unsigned>(options.nvml_index);
      if (auto rc = l.handle_by_index(index, &device); rc != nvml::kSuccess)
        return failed("nvmlDeviceGetHandleByIndex_v2", rc, " for index " + std::to_string(index));
      char buffer[nvml::kUuidBufferSize] = {0};
      if (auto rc = l.uuid(device, buffer, sizeof(buffer) - 1); rc != nvml::kSuccess)
        return failed("nvmlDeviceGetUUID", rc, "");
      uuid = buffer;
    }
    unsigned int index = 0;
    if (auto rc = l.index(device, &index); rc != nvml::kSuccess)
      return failed("nvmlDeviceGetIndex", rc, " for " + uuid);
    device_labels = {{"gpu", std::to_string(index)}, {"uuid", uuid}};
    return true;
  }

  void publish(Reading& r, double value) {
    if (!r.gauge) {
      if (!r.family) r.family = &registry.gauge(r.name, r.help);
      r.gauge = &r.family->Add(device_labels);
    }
    r.gauge->Set(value);
  }

  void withdraw(Reading& r, const std::string& failure) {
    if (r.gauge) r.family->Remove(r.gauge);
    r.gauge = nullptr;
    say_once("GPU metric " + std::string(r.name) + " not exported: " + failure);
  }

  void refresh() {
    std::lock_guard lock(mutex);
    if (!lib) return;
    nvml::Utilization u{};
    if (auto rc = lib->utilization(device, &u); rc == nvml::kSuccess)
      publish(utilization, u.gpu / 100.0);
    else
      withdraw(utilization, lib->describe("nvmlDeviceGetUtilizationRates", rc));
    nvml::Memory m{};
    if (auto rc = lib->memory(device, &m); rc == nvml::kSuccess) {
      publish(memory_used, static_cast<double>(m.used));
      publish(memory_total, static_cast<double>(m.total));
    } else {
      withdraw(memory_used, lib->describe("nvmlDeviceGetMemoryInfo", rc));
      withdraw(memory_total, lib->describe("nvmlDeviceGetMemoryInfo", rc));
    }
    unsigned int milliwatts = 0;
    if (auto rc = lib->power_milliwatts(device, &milliwatts); rc == nvml::kSuccess)
      publish(power, milliwatts / 1000.0);
    else
      withdraw(power, lib->describe("nvmlDeviceGetPowerUsage", rc));
    unsigned int celsius = 0;
    if (auto rc = lib->temperature(device, nvml::kTemperatureGpu, &celsius); rc == nvml::kSuccess)
      publish(temperature, static_cast<double>(celsius));
    else
      withdraw(temperature, lib->describe("nvmlDeviceGetTemperature", rc));
  }
};

NvmlMetrics::NvmlMetrics(RankRegistry& registry, NvmlOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {
  if (impl_->options.wanted()) impl_->start();
}

NvmlMetrics::~NvmlMetrics() {
  if (impl_->lib) impl_->lib->shutdown();
}

bool NvmlMetrics::active() const { return impl_->lib != nullptr; }

void NvmlMetrics::refresh() { impl_->refresh(); }

}  // namespace wildreid::monitoring

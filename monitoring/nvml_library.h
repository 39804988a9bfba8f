// The few NVML entry points the GPU health metrics need (nvml_metrics.h), opened with dlopen at
// run time. libnvidia-ml.so.1 ships with the NVIDIA driver, not with the CUDA toolkit or the
// LibTorch wheel, so linking it would make the build and every CPU machine need a driver; opened
// at run time, a machine without one simply has no NVML (open() says why, nothing throws).
//
// The types and signatures are declared here by hand, copied from NVML's public API (nvml.h):
// the toolkits this project builds with do not all install nvml.h (the CUDA 13.0 toolkit on the
// build machines has none), and a laptop without CUDA must build this library too. Only
// stable, versioned symbols are used (nvmlInit_v2, nvmlDeviceGetHandleByIndex_v2, ...).
// tests/monitoring/fake_nvml.c implements the same declarations with fixed values.
#pragma once
#include <memory>
#include <string>

namespace wildreid::monitoring::nvml {

// nvml.h's nvmlReturn_t is a C enum (int-sized); only the values this project names are here.
using Return = int;
constexpr Return kSuccess = 0;            // NVML_SUCCESS
constexpr int kTemperatureGpu = 0;        // NVML_TEMPERATURE_GPU (nvmlTemperatureSensors_t)
constexpr unsigned kUuidBufferSize = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE

struct DeviceHandle;  // nvml.h: struct nvmlDevice_st
using Device = DeviceHandle*;

struct Utilization {  // nvmlUtilization_t
  unsigned int gpu;     // percent of the last sample period in which a kernel was running
  unsigned int memory;  // percent of it in which device memory was read or written
};

struct Memory {  // nvmlMemory_t (v1)
  unsigned long long total;  // bytes
  unsigned long long free;
  unsigned long long used;   // bytes in use by every process and context on the device
};

// The resolved entry points of one loaded NVML library. Every pointer is non-null once open()
// returned a Library.
struct Library {
  Return (*init)() = nullptr;                                          // nvmlInit_v2
  Return (*shutdown)() = nullptr;                                      // nvmlShutdown
  const char* (*error_string)(Return) = nullptr;                       // nvmlErrorString
  Return (*handle_by_uuid)(const char*, Device*) = nullptr;            // nvmlDeviceGetHandleByUUID
  Return (*handle_by_index)(unsigned int, Device*) = nullptr;          // nvmlDeviceGetHandleByIndex_v2
  Return (*index)(Device, unsigned int*) = nullptr;                    // nvmlDeviceGetIndex
  Return (*uuid)(Device, char*, unsigned int) = nullptr;               // nvmlDeviceGetUUID
  Return (*utilization)(Device, Utilization*) = nullptr;               // nvmlDeviceGetUtilizationRates
  Return (*memory)(Device, Memory*) = nullptr;                         // nvmlDeviceGetMemoryInfo
  Return (*power_milliwatts)(Device, unsigned int*) = nullptr;         // nvmlDeviceGetPowerUsage
  Return (*temperature)(Device, int, unsigned int*) = nullptr;         // nvmlDeviceGetTemperature

  // "nvmlDeviceGetPowerUsage failed: GPU is lost" style text for a failed call.
  std::string describe(const char* function, Return code) const;

  ~Library();  // dlclose; the caller has already called shutdown() if init() succeeded
  void* handle = nullptr;
};

// dlopen(library_name) and resolve every entry point above. nullptr and `why` set (dlerror's
// text, or the missing symbol) when the library cannot be opened or lacks one of them.
std::unique_ptr<Library> open(const std::string& library_name, std::string& why);

// NVML's UUID spelling, "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". `uuid` may already be in that
// form, or be "GPU-" followed by the 32 hex digits without dashes (cluster::gpu_uuid's spelling
// of cudaDeviceProp::uuid); anything else is returned unchanged.
std::string canonical_uuid(const std::string& uuid);

}  // namespace wildreid::monitoring::nvml

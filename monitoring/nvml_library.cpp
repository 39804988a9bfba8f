// dlopen/dlsym of NVML's entry points; see nvml_library.h.
#include "monitoring/nvml_library.h"

#include <dlfcn.h>

#include <cctype>

namespace wildreid::monitoring::nvml {
namespace {

// dlsym into a typed function pointer; false (and `why` naming the symbol) when it is missing.
template <typename Fn>
bool resolve(void* handle, const char* symbol, Fn& out, const std::string& library, std::string& why) {
  out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (out) return true;
  why = library + " has no " + symbol;
  return false;
}

bool is_hex(const std::string& s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::string Library::describe(const char* function, Return code) const {
  const char* text = error_string ? error_string(code) : nullptr;
  return std::string(function) + " failed: " +
         (text ? std::string(text) : "NVML error " + std::to_string(code));
}

Library::~Library() {
  if (handle) dlclose(handle);
}

std::unique_ptr<Library> open(const std::string& library_name, std::string& why) {
  void* handle = dlopen(library_name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* error = dlerror();
    why = "cannot load " + library_name + (error ? std::string(" (") + error + ")" : "");
    return nullptr;
  }
  auto lib = std::make_unique<Library>();
  lib->handle = handle;
  const std::string& n = library_name;
  if (!resolve(handle, "nvmlInit_v2", lib->init, n, why) ||
      !resolve(handle, "nvmlShutdown", lib->shutdown, n, why) ||
      !resolve(handle, "nvmlErrorString", lib->error_string, n, why) ||
      !resolve(handle, "nvmlDeviceGetHandleByUUID", lib->handle_by_uuid, n, why) ||
      !resolve(handle, "nvmlDeviceGetHandleByIndex_v2", lib->handle_by_index, n, why) ||
      !resolve(handle, "nvmlDeviceGetIndex", lib->index, n, why) ||
      !resolve(handle, "nvmlDeviceGetUUID", lib->uuid, n, why) ||
      !resolve(handle, "nvmlDeviceGetUtilizationRates", lib->utilization, n, why) ||
      !resolve(handle, "nvmlDeviceGetMemoryInfo", lib->memory, n, why) ||
      !resolve(handle, "nvmlDeviceGetPowerUsage", lib->power_milliwatts, n, why) ||
      !resolve(handle, "nvmlDeviceGetTemperature", lib->temperature, n, why))
    return nullptr;
  return lib;
}

std::string canonical_uuid(const std::string& uuid) {
  const std::string prefix = "GPU-";
  if (uuid.size() != prefix.size() + 32 || uuid.compare(0, prefix.size(), prefix) != 0) return uuid;
  const std::string hex = uuid.substr(prefix.size());
  if (!is_hex(hex)) return uuid;
  return prefix + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace wildreid::monitoring::nvml

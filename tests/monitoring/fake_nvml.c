/* A stand-in for libnvidia-ml.so.1 with one GPU and fixed readings, so the NVML metrics
 * (monitoring/nvml_metrics.h) can be tested on machines without a driver: the tests load it
 * through NvmlOptions::library. Same C signatures as NVML's (monitoring/nvml_library.h).
 * fake_nvml_set_mode() makes it fail like a broken driver, so the failure paths are tested too;
 * fake_nvml_open_inits() tells whether every nvmlInit_v2 was matched by an nvmlShutdown.
 *
 * The GPU: NVML index 3, UUID GPU-01234567-89ab-cdef-0123-456789abcdef, 73 % busy,
 * 12345678848 of 85899345920 bytes used, 312.5 W, 64 C. */
#include <string.h>

enum { kSuccess = 0, kInvalidArgument = 2, kNotFound = 6, kDriverNotLoaded = 9, kGpuIsLost = 15 };
enum { kModeWorking = 0, kModeReadingsFail = 1, kModeInitFails = 2 };

typedef struct {
  unsigned int gpu, memory;
} Utilization;
typedef struct {
  unsigned long long total, free, used;
} Memory;
typedef struct FakeDevice {
  int unused;
} FakeDevice;

static FakeDevice the_gpu;
static const char* const kUuid = "GPU-01234567-89ab-cdef-0123-456789abcdef";
static int mode = kModeWorking;
static int open_inits = 0;

void fake_nvml_set_mode(int m) { mode = m; }
int fake_nvml_open_inits(void) { return open_inits; }

int nvmlInit_v2(void) {
  if (mode == kModeInitFails) return kDriverNotLoaded;
  ++open_inits;
  return kSuccess;
}
int nvmlShutdown(void) {
  --open_inits;
  return kSuccess;
}
const char* nvmlErrorString(int code) {
  switch (code) {
    case kSuccess: return "Success";
    case kInvalidArgument: return "Invalid Argument";
    case kNotFound: return "Not Found";
    case kDriverNotLoaded: return "Driver Not Loaded";
    case kGpuIsLost: return "GPU is lost";
    default: return "Unknown Error";
  }
}
int nvmlDeviceGetHandleByUUID(const char* uuid, FakeDevice** device) {
  if (!uuid || !device) return kInvalidArgument;
  if (strcmp(uuid, kUuid) != 0) return kNotFound;
  *device = &the_gpu;
  return kSuccess;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, FakeDevice** device) {
  if (!device || index > 3) return kInvalidArgument;
  if (index != 3) return kNotFound; /* indices 0..2 belong to GPUs this fake does not model */
  *device = &the_gpu;
  return kSuccess;
}
int nvmlDeviceGetIndex(FakeDevice* device, unsigned int* index) {
  if (device != &the_gpu || !index) return kInvalidArgument;
  *index = 3;
  return kSuccess;
}
int nvmlDeviceGetUUID(FakeDevice* device, char* uuid, unsigned int length) {
  if (device != &the_gpu || !uuid || length <= strlen(kUuid)) return kInvalidArgument;
  strcpy(uuid, kUuid);
  return kSuccess;
}
int nvmlDeviceGetUtilizationRates(FakeDevice* device, Utilization* utilization) {
  if (device != &the_gpu || !utilization) return kInvalidArgument;
  if (mode == kModeReadingsFail) return kGpuIsLost;
  utilization->gpu = 73;
  utilization->memory = 41;
  return kSuccess;
}
int nvmlDeviceGetMemoryInfo(FakeDevice* device, Memory* memory) {
  if (device != &the_gpu || !memory) return kInvalidArgument;
  if (mode == kModeReadingsFail) return kGpuIsLost;
  memory->total = 85899345920ULL;
  memory->used = 12345678848ULL;
  memory->free = memory->total - memory->used;
  return kSuccess;
}
int nvmlDeviceGetPowerUsage(FakeDevice* device, unsigned int* milliwatts) {
  if (device != &the_gpu || !milliwatts) return kInvalidArgument;
  if (mode == kModeReadingsFail) return kGpuIsLost;
  *milliwatts = 312500;
  return kSuccess;
}
int nvmlDeviceGetTemperature(FakeDevice* device, int sensor, unsigned int* celsius) {
  if (device != &the_gpu || !celsius || sensor != 0) return kInvalidArgument;
  if (mode == kModeReadingsFail) return kGpuIsLost;
  *celsius = 64;
  return kSuccess;
}

// libFuzzer entry for the safetensors header parser: any byte string must either parse or raise
// SafetensorsError; anything else (crash, sanitizer report, other exception) is a finding.
#include <cstddef>
#include <cstdint>

#include "checkpoints/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto header = wildreid::checkpoints::parse_safetensors_header(data, size, "fuzz-input");
    (void)header;
  } catch (const wildreid::checkpoints::SafetensorsError&) {
  }
  return 0;
}

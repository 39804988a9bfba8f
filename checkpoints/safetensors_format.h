// The safetensors container format (https://github.com/huggingface/safetensors), parsed into plain
// structs with no LibTorch dependency. Kept torch-free on purpose: the libFuzzer target compiles
// this file alone with clang, and the torch layer (safetensors.h) only maps validated entries to
// tensors. Every check names the file and the tensor at fault; nothing here may crash on any input.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON (an object mapping tensor names to
// {"dtype", "shape", "data_offsets": [begin, end]} plus an optional "__metadata__" string map), then
// the data buffer that the offsets index (relative to the buffer's start).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace wildreid::checkpoints {

// Every dtype of the safetensors spec.
enum class SafeDtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

// Bytes per element of a dtype.
size_t dtype_size(SafeDtype dtype);
// The spec's name ("F32") of a dtype, and the reverse; parse returns false for unknown names.
const char* dtype_name(SafeDtype dtype);
bool parse_dtype(const std::string& name, SafeDtype& out);

struct TensorEntry {
  std::string name;
  SafeDtype dtype = SafeDtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data buffer
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;                 // in file order of their data
  std::map<std::string, std::string> metadata;      // "__metadata__", if present
  uint64_t data_start = 0;                          // absolute file offset of the data buffer
};

// Raised for any malformed file; the message names the file and, where one is at fault, the tensor.
struct SafetensorsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses and validates the header of a whole file image `bytes[0..size)`: header length within the
// file, JSON object, known dtypes, non-negative shapes, offsets in range, size == numel * itemsize,
// no two tensors overlapping. `file` is used only in error messages.
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& file);

// Serialises a header for writing: entries' offsets must already be laid out. The JSON is padded
// with spaces to a multiple of 8 bytes, as the reference implementation does.
std::string serialize_safetensors_header(const std::vector<TensorEntry>& tensors,
                                         const std::map<std::string, std::string>& metadata);

}  // namespace wildreid::checkpoints

// Reading and writing safetensors files as LibTorch tensors. The reader memory-maps the file and
// hands out tensors that view the mapping (zero copy; the mapping lives as long as any tensor of
// it), so a 1.4 GB ConvNeXt-XL checkpoint costs no extra RAM until it is copied into a module.
// The writer writes to a temporary name and renames, so a file is never half-written.
#pragma once
#include <ATen/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "checkpoints/safetensors_format.h"

namespace wildreid::checkpoints {

class MappedFile;

// A validated, memory-mapped safetensors file.
class SafetensorsFile {
 public:
  // Maps and validates `path`; throws SafetensorsError naming the file (and tensor) on bad input.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  // Tensor names in file order.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  // A CPU tensor viewing the mapping (read-only memory: clone before writing into it). Dtypes
  // LibTorch lacks (U16/U32/U64) are refused with a SafetensorsError naming the tensor.
  at::Tensor tensor(const std::string& name) const;
  // Every tensor by name.
  std::map<std::string, at::Tensor> tensors() const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> map_;
  SafetensorsHeader header_;
  std::map<std::string, size_t> index_;
};

// Convenience: every tensor of a file (views of its mapping).
std::map<std::string, at::Tensor> load_safetensors(const std::filesystem::path& path);

// Writes `tensors` (any device, any layout; copied to contiguous CPU) to `path` atomically, in the
// given order. Throws std::runtime_error naming the tensor whose dtype safetensors cannot store.
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace wildreid::checkpoints

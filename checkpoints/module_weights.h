// Copying named tensors into a torch::nn::Module and back out, by timm's parameter names.
// Loading is strict by default and reports every missing, unexpected and shape-mismatched key by
// name (not just the first), so a user converting a checkpoint sees the whole problem at once.
// Architecture-specific key remapping (e.g. Swin's old timm layout) is done by the caller on the
// name->tensor map before calling load_weights.
#pragma once
#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace wildreid::checkpoints {

struct LoadOptions {
  bool strict = true;                        // any missing/unexpected/mismatched key is an error
  std::vector<std::string> ignore_prefixes;  // keys under these prefixes are neither loaded nor
                                             // reported (e.g. the classifier "head.fc." for --ignore-head)
  std::vector<std::string> skip_suffixes;    // keys with these suffixes are dropped silently from
                                             // the file (e.g. buffers recomputed by the model)
};

struct LoadReport {
  std::vector<std::string> loaded;
  std::vector<std::string> missing;       // in the module, not in the file
  std::vector<std::string> unexpected;    // in the file, not in the module
  std::vector<std::string> mismatched;    // "name: file [a, b] vs module [c, d]"
  std::vector<std::string> ignored;       // dropped by ignore_prefixes / skip_suffixes
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // Multi-line human-readable summary listing every problem key.
  std::string describe() const;
};

// The module's persistent state by name: parameters then buffers, skipping buffer names ending in
// any of `non_persistent_suffixes` (buffers timm does not save, e.g. recomputed index tables).
std::vector<std::pair<std::string, at::Tensor>> module_state(
    const torch::nn::Module& module, const std::vector<std::string>& non_persistent_suffixes = {});

// Copies `tensors` into the module's parameters and buffers (converted to each destination's dtype
// and device) under NoGrad. With strict (default) throws std::runtime_error with report.describe()
// naming `source` when anything is missing, unexpected or mismatched; nothing is copied then.
LoadReport load_weights(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                        const LoadOptions& options = {}, const std::string& source = "weights",
                        const std::vector<std::string>& non_persistent_suffixes = {});

// Reads a weights file (safetensors or torch.save, checkpoints/weights_file.h) and load_weights() it.
LoadReport load_weights_file(torch::nn::Module& module, const std::filesystem::path& path,
                             const LoadOptions& options = {},
                             const std::vector<std::string>& non_persistent_suffixes = {});

// Writes the module's persistent state as safetensors with its (timm) names, atomically.
void save_module(const torch::nn::Module& module, const std::filesystem::path& path,
                 const std::map<std::string, std::string>& metadata = {},
                 const std::vector<std::string>& non_persistent_suffixes = {});

}  // namespace wildreid::checkpoints

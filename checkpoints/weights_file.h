// One reader for every weights file a user hands to a command (`train`'s init.from, `forward`,
// `embed`, the matchers): safetensors, and torch.save files (`pytorch_model.bin`, `.pth`, the
// zip format of torch >= 1.6) read through LibTorch's pickle loader, so published checkpoints
// need no Python conversion step.
#pragma once
#include <ATen/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace wildreid::checkpoints {

// Every tensor of the file by name. A torch.save state dict nested under a single "state_dict" or
// "model" key is unwrapped. Throws std::runtime_error naming the file on unreadable input (the
// legacy pre-1.6 torch.save format is detected and named as such).
std::map<std::string, at::Tensor> read_weights_file(const std::filesystem::path& path);

// The string metadata of a safetensors weights file (e.g. label names, checkpoints/label_names.h);
// empty for a torch.save file, which has none. Throws like read_weights_file.
std::map<std::string, std::string> read_weights_metadata(const std::filesystem::path& path);

}  // namespace wildreid::checkpoints

// See weights_file.h. The format is told by the file's first bytes, not its name (a hub download
// may be renamed): "PK\x03\x04" is the zip that torch.save writes since 1.6; 0x80 (a pickle
// PROTO opcode, then torch's magic number) is the legacy pre-1.6 stream; anything else is handed to the safetensors reader,
// which names what is wrong with it. The zip is read with the same two calls torch::pickle_load
// makes (a PyTorchStreamReader, then readArchiveAndTensors on its "data.pkl"), but on the file
// itself rather than on a copy of it in memory, so a 1.4 GB checkpoint is read once. The
// unpickler builds only tensors and containers: a file that pickles other Python objects is
// refused by the unpickler, it never runs code.
#include "checkpoints/weights_file.h"

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/import_read.h>

#include <array>
#include <fstream>
#include <stdexcept>

#include "checkpoints/safetensors.h"

namespace wildreid::checkpoints {
namespace fs = std::filesystem;
namespace {

enum class FileKind { kSafetensors, kTorchZip, kTorchLegacy };

FileKind sniff(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("'" + path.string() + "': cannot open weights file");
  std::array<unsigned char, 4> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  if (in.gcount() == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return FileKind::kTorchZip;
  // Legacy: PROTO n, then LONG1 of 10 bytes, the start of torch's pickled magic number. (A
  // safetensors file would need a ~177 MB header to begin with these bytes.)
  if (in.gcount() == 4 && head[0] == 0x80 && head[2] == 0x8a && head[3] == 0x0a) return FileKind::kTorchLegacy;
  return FileKind::kSafetensors;
}

// The first line of a c10::Error (the rest is a C++ backtrace that says nothing to a user).
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string key_list(const c10::impl::GenericDict& dict) {
  std::string keys;
  int shown = 0;
  for (const auto& item : dict) {
    if (shown++ == 8) return keys + ", ...";
    keys += (keys.empty() ? "" : ", ") + (item.key().isString() ? item.key().toStringRef() : item.key().tagKind());
  }
  return keys;
}

// The state dict inside what torch.save pickled: a dict of tensors, or such a dict under a
// "state_dict" or "model" key (training scripts' {"model": ..., "optimizer": ..., "epoch": ...}).
std::map<std::string, at::Tensor> state_dict_of(const c10::IValue& root, const fs::path& path) {
  const std::string where = "'" + path.string() + "'";
  if (!root.isGenericDict())
    throw std::runtime_error(where + ": torch.save file holds a " + root.tagKind() + ", not a state dict");
  c10::impl::GenericDict dict = root.toGenericDict();
  bool all_tensors = true;
  for (const auto& item : dict) all_tensors = all_tensors && item.value().isTensor();
  if (!all_tensors) {
    int wrappers = 0;
    c10::IValue inner;
    for (const char* key : {"state_dict", "model"}) {
      auto it = dict.find(c10::IValue(std::string(key)));
      if (it != dict.end() && it->value().isGenericDict()) {
        ++wrappers;
        inner = it->value();
      }
    }
    if (wrappers != 1)
      throw std::runtime_error(where + ": torch.save file is neither a state dict (name -> tensor) nor one "
                               "under a single 'state_dict' or 'model' key; its keys: " + key_list(dict));
    dict = inner.toGenericDict();
  }
  std::map<std::string, at::Tensor> tensors;
  for (const auto& item : dict) {
    if (!item.key().isString())
      throw std::runtime_error(where + ": state dict has a non-string key (" + item.key().tagKind() + ")");
    const std::string& name = item.key().toStringRef();
    if (!item.value().isTensor())
      throw std::runtime_error(where + ": state dict entry '" + name + "' is a " + item.value().tagKind() +
                               ", not a tensor");
    tensors.emplace(name, item.value().toTensor());
  }
  // DistributedDataParallel / DataParallel wrappers prefix every name with "module.".
  const std::string wrapped = "module.";
  bool all_wrapped = !tensors.empty();
  for (const auto& [name, t] : tensors) all_wrapped = all_wrapped && name.rfind(wrapped, 0) == 0;
  if (all_wrapped) {
    std::map<std::string, at::Tensor> unwrapped;
    for (auto& [name, t] : tensors) unwrapped.emplace(name.substr(wrapped.size()), t);
    tensors.swap(unwrapped);
  }
  return tensors;
}

std::map<std::string, at::Tensor> read_torch_zip(const fs::path& path) {
  c10::IValue root;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path.string());
    root = torch::jit::readArchiveAndTensors("data", "", "", std::nullopt, std::nullopt, at::Device(at::kCPU), reader);
  } catch (const c10::Error& e) {
    throw std::runtime_error("'" + path.string() + "': cannot read torch.save file (truncated or corrupt?): " +
                             first_line(e.what_without_backtrace()));
  }
  return state_dict_of(root, path);
}

}  // namespace

std::map<std::string, at::Tensor> read_weights_file(const fs::path& path) {
  switch (sniff(path)) {
    case FileKind::kTorchZip:
      return read_torch_zip(path);
    case FileKind::kTorchLegacy:
      throw std::runtime_error("'" + path.string() + "': legacy torch.save format (written by torch < 1.6 or with "
                               "_use_new_zipfile_serialization=False) is not supported; re-save it with a current "
                               "torch (torch.save(torch.load(f), f)) or convert it to safetensors");
    case FileKind::kSafetensors:
      break;
  }
  return load_safetensors(path);
}

std::map<std::string, std::string> read_weights_metadata(const fs::path& path) {
  if (sniff(path) != FileKind::kSafetensors) return {};
  return SafetensorsFile(path).metadata();
}

}  // namespace wildreid::checkpoints

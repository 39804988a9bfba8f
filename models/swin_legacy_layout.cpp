// See swin_legacy_layout.h.
#include "models/swin_legacy_layout.h"

#include <ATen/ATen.h>

#include <regex>
#include <stdexcept>

#include "models/swin_transformer.h"

namespace wildreid::models {
namespace {

const std::regex kDownsample(R"(^layers\.(\d+)\.downsample\.(.*)$)");
const std::regex kIndex(R"(^layers\.(\d+)\.blocks\.(\d+)\.attn\.relative_position_index$)");
const std::regex kMask(R"(^layers\.(\d+)\.blocks\.(\d+)\.attn_mask$)");

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_of(const at::Tensor& t) { return t.defined() ? c10::str(t.sizes()) : std::string("(none)"); }

// The block a persisted buffer belongs to, or nullptr when the model has no such block.
const SwinBlockImpl* block_at(const SwinTransformer& model, const std::smatch& m) {
  const size_t stage = std::stoul(m[1].str()), block = std::stoul(m[2].str());
  if (stage >= model.stages().size() || block >= model.stages()[stage]->blocks().size()) return nullptr;
  return model.stages()[stage]->blocks()[block].get();
}

void check_buffer(const std::string& key, const at::Tensor& stored, const at::Tensor& computed) {
  if (!computed.defined() || stored.sizes() != computed.sizes())
    throw std::runtime_error("swin checkpoint: persisted buffer '" + key + "' has shape " + shape_of(stored) +
                             " but this model computes " + shape_of(computed) +
                             " (different input size or window than the checkpoint was made for?)");
  if (!at::equal(stored.to(at::kCPU, computed.scalar_type()), computed.cpu()))
    throw std::runtime_error("swin checkpoint: persisted buffer '" + key +
                             "' differs from the value this model computes");
}

}  // namespace

bool swin_is_legacy_layout(const std::map<std::string, at::Tensor>& tensors) {
  if (tensors.count("head.weight")) return true;
  for (const auto& [key, value] : tensors)
    if (key.rfind("layers.0.downsample.", 0) == 0) return true;
  return false;
}

std::map<std::string, at::Tensor> swin_convert_legacy_layout(std::map<std::string, at::Tensor> tensors) {
  if (!swin_is_legacy_layout(tensors)) return tensors;
  std::map<std::string, at::Tensor> out;
  for (auto& [key, value] : tensors) {
    std::smatch m;
    std::string name = key;
    if (std::regex_match(key, m, kDownsample)) {
      name = "layers." + std::to_string(std::stoul(m[1].str()) + 1) + ".downsample." + m[2].str();
    } else if (key == "head.weight" || key == "head.bias") {
      name = "head.fc." + key.substr(5);
    }
    if (!out.emplace(name, value).second)
      throw std::runtime_error("swin checkpoint: old-layout key '" + key + "' maps to '" + name +
                               "', which the file also contains");
  }
  return out;
}

std::map<std::string, at::Tensor> swin_drop_persisted_buffers(std::map<std::string, at::Tensor> tensors,
                                                             const SwinTransformer& model) {
  for (auto it = tensors.begin(); it != tensors.end();) {
    const std::string& key = it->first;
    std::smatch m;
    if (std::regex_match(key, m, kIndex)) {
      const auto* block = block_at(model, m);
      check_buffer(key, it->second, block ? block->attn->relative_position_index() : at::Tensor());
    } else if (std::regex_match(key, m, kMask)) {
      const auto* block = block_at(model, m);
      check_buffer(key, it->second, block ? block->attn_mask() : at::Tensor());
    } else {
      if (ends_with(key, "relative_position_index") || ends_with(key, "attn_mask"))
        throw std::runtime_error("swin checkpoint: unexpected persisted buffer '" + key + "'");
      ++it;
      continue;
    }
    it = tensors.erase(it);
  }
  return tensors;
}

}  // namespace wildreid::models

// Backbone-aware weight loading and export (see model_weights.h).
#include "models/model_weights.h"

#include "checkpoints/safetensors.h"
#include "checkpoints/weights_file.h"

namespace wildreid::models {

checkpoints::LoadReport load_backbone_weights(Backbone& model, std::map<std::string, at::Tensor> tensors,
                                              const WeightLoadOptions& options, const std::string& source) {
  checkpoints::LoadOptions lo;
  lo.strict = options.strict;
  if (options.ignore_head) lo.ignore_prefixes = model.classifier_prefixes();
  lo.skip_suffixes = model.non_persistent_buffer_suffixes();
  return checkpoints::load_weights(model, model.adapt_checkpoint(std::move(tensors)), lo, source,
                                   model.non_persistent_buffer_suffixes());
}

checkpoints::LoadReport load_backbone_weights(Backbone& model, const std::filesystem::path& path,
                                              const WeightLoadOptions& options) {
  return load_backbone_weights(model, checkpoints::read_weights_file(path), options, "'" + path.string() + "'");
}

int64_t classes_in_weights(const Backbone& probe, const std::map<std::string, at::Tensor>& tensors) {
  const auto adapted = probe.adapt_checkpoint(tensors);
  for (const auto& prefix : probe.classifier_prefixes()) {
    auto it = adapted.find(prefix + "weight");
    if (it != adapted.end()) return it->second.size(0);
  }
  return 0;
}

void export_backbone(const Backbone& model, const std::filesystem::path& path, const ExportOptions& options) {
  auto tensors = checkpoints::module_state(model, model.non_persistent_buffer_suffixes());
  for (auto& [name, tensor] : tensors) {
    const auto it = options.replace.find(name);
    if (it != options.replace.end()) tensor = it->second;
  }
  auto metadata = options.metadata;
  metadata["format"] = "pt";
  metadata["arch"] = model.spec().name;
  checkpoints::save_safetensors(path, tensors, metadata);
}

}  // namespace wildreid::models

// Backbone-aware weight loading and export (see model_weights.h).
#include "models/model_weights.h"

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

void export_backbone(const Backbone& model, const std::filesystem::path& path,
                     const std::map<std::string, std::string>& metadata) {
  auto all = metadata;
  all["format"] = "pt";
  all["arch"] = model.spec().name;
  checkpoints::save_module(model, path, all, model.non_persistent_buffer_suffixes());
}

}  // namespace wildreid::models

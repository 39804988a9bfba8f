// Backbone-aware weight loading and export (see model_weights.h).
#include "models/model_weights.h"

#include "checkpoints/safetensors.h"

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
  checkpoints::SafetensorsFile file(path);
  return load_backbone_weights(model, file.tensors(), options, "'" + path.string() + "'");
}

void export_backbone(const Backbone& model, const std::filesystem::path& path) {
  checkpoints::save_module(model, path, {{"format", "pt"}, {"arch", model.spec().name}},
                           model.non_persistent_buffer_suffixes());
}

}  // namespace wildreid::models

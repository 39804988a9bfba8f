// Loading timm weights into a Backbone and exporting one back, glueing the generic name-based
// loader (checkpoints/module_weights.h) to what only the model knows: its classifier prefixes
// (--ignore-head), its non-persistent buffers and its checkpoint adaptations (old key layouts,
// resized position embeddings).
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "checkpoints/module_weights.h"
#include "models/backbone.h"

namespace wildreid::models {

struct WeightLoadOptions {
  bool strict = true;
  // Drop the checkpoint's classifier and keep the model's own (fresh) one, e.g. when num_classes
  // differs from the checkpoint's.
  bool ignore_head = false;
};

// Loads a weights file into `model`: safetensors or torch.save (`pytorch_model.bin`, `.pth`), read by
// checkpoints::read_weights_file, then adapted (e.g. the old timm Swin layout) as any tensor map.
// Throws (strict) naming the file and every bad key.
checkpoints::LoadReport load_backbone_weights(Backbone& model, const std::filesystem::path& path,
                                              const WeightLoadOptions& options = {});
checkpoints::LoadReport load_backbone_weights(Backbone& model, std::map<std::string, at::Tensor> tensors,
                                              const WeightLoadOptions& options, const std::string& source);

// Rows of the classifier weight in `tensors` once adapted to `probe`'s layout (an old timm Swin
// file's `head.weight` counts): the num_classes to build the model with; 0 when the weights have
// no classifier (a headless export, a backbone-only file).
int64_t classes_in_weights(const Backbone& probe, const std::map<std::string, at::Tensor>& tensors);

// What an export may add to or change in the model's own state.
struct ExportOptions {
  std::map<std::string, std::string> metadata;  // besides "format" and "arch"
  std::map<std::string, at::Tensor> replace;    // tensors written instead of the model's (same names)
};

// Writes the model's weights with timm's names (loadable by timm.create_model(..., pretrained=True,
// pretrained_cfg_overlay=dict(file=...))), atomically. Metadata records the architecture name
// plus `options.metadata` (e.g. checkpoints/label_names.h).
void export_backbone(const Backbone& model, const std::filesystem::path& path, const ExportOptions& options = {});

}  // namespace wildreid::models

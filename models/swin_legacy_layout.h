// Loading Swin checkpoints written by timm <= 0.9.5 (the MegaDescriptor-L-384 file among them).
// That layout differs from the current one in three ways, all mapped here before name-based loading:
//   - PatchMerging lives at the END of stages 0..2 (`layers.N.downsample`), not at the start of
//     stages 1..3: renamed to `layers.N+1.downsample` (timm's checkpoint_filter_fn does the same);
//   - the classifier is `head.{weight,bias}`, not `head.fc.{weight,bias}`: renamed;
//   - `relative_position_index` and `attn_mask` are persisted buffers: checked against the values
//     this model computes (shape and content, so a file made for another resolution or window is
//     refused by name) and dropped.
#pragma once
#include <ATen/Tensor.h>

#include <map>
#include <string>

namespace wildreid::models {

class SwinTransformer;

// True when the map uses the old layout (a `layers.0.downsample.*` or `head.weight` key).
bool swin_is_legacy_layout(const std::map<std::string, at::Tensor>& tensors);

// Renames old-layout keys to the current layout; a current-layout map is returned unchanged.
std::map<std::string, at::Tensor> swin_convert_legacy_layout(std::map<std::string, at::Tensor> tensors);

// Removes every `*.relative_position_index` / `*.attn_mask` tensor after checking it against what
// `model` computes for that block; throws std::runtime_error naming the key on any disagreement.
std::map<std::string, at::Tensor> swin_drop_persisted_buffers(std::map<std::string, at::Tensor> tensors,
                                                             const SwinTransformer& model);

}  // namespace wildreid::models

// Loading ALIKED and LightGlue weights by kornia's parameter names from the files users have: the
// published torch.save checkpoints (`aliked-n16.pth`, `aliked_lightglue.pth`) or safetensors.
// LightGlue files from the original release name layers `self_attn.i` / `cross_attn.i`; they are
// renamed to `transformers.i.*` (as kornia does), and an `matcher.` prefix is stripped. Buffers the
// models recompute (DKD's window grid, LightGlue's confidence thresholds, BatchNorm counters) are
// ignored. Loading is strict otherwise: every missing or unexpected key is named. Files are read
// with checkpoints::read_weights_file (safetensors or torch.save).
#pragma once
#include <ATen/Tensor.h>

#include <map>
#include <string>

#include "matching/aliked.h"
#include "matching/lightglue.h"

namespace wildreid::matching {

void load_aliked_weights(AlikedImpl& model, const std::map<std::string, at::Tensor>& tensors,
                         const std::string& source);
void load_lightglue_weights(LightGlueImpl& model, std::map<std::string, at::Tensor> tensors,
                            const std::string& source);

}  // namespace wildreid::matching

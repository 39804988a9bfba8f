// Validation across ranks: each rank evaluates its share of the val split (the sampler's
// unshuffled order), the padded duplicates the sampler adds to even out ranks are not counted,
// and loss sum / correct / count are summed over ranks, so every rank gets the exact figures of
// the whole split.
#pragma once
#include <cstdint>
#include <functional>

#include "cluster/process_group.h"
#include "data/batch_loader.h"
#include "models/backbone.h"
#include "trainer/train_config.h"

namespace wildreid::trainer {

struct ValidationResult {
  double loss = 0;      // mean cross-entropy (no label smoothing)
  double accuracy = 0;  // top-1
  int64_t count = 0;    // images evaluated (whole split)
};

// Class scores of a batch of images (the objective's: logits, or ArcFace's scaled cosines).
using ClassLogits = std::function<at::Tensor(const at::Tensor& images)>;

// `model` is switched to eval() for the pass and back to train() after it.
ValidationResult validate(models::Backbone& model, const ClassLogits& class_logits, data::BatchLoader& loader,
                          size_t split_size, cluster::ProcessGroup& group, AmpMode amp, int64_t epoch);

}  // namespace wildreid::trainer

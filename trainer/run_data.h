// The "data" phase of a training run (training_run.cpp lists the phases): the shard set, the
// train and val splits, the batch geometry (accumulation from train.effective_batch, optimizer
// steps per epoch, the schedule's length) and this rank's two loaders. Transforms take the
// architecture's normalisation and input size from the model registry, so this phase runs before
// the model exists (and tells it the number of classes).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "data/batch_loader.h"
#include "data/shard_reader.h"
#include "models/backbone.h"
#include "trainer/train_config.h"

namespace wildreid::trainer {

struct BatchGeometry {
  int64_t micro_batch = 0;       // images per rank per micro-step
  int64_t accumulation = 1;      // micro-steps per optimizer step
  int64_t samples_per_step = 0;  // micro_batch x accumulation, per rank
  int64_t steps_per_epoch = 0;   // optimizer steps per epoch, the same on every rank
  int64_t schedule_steps = 0;    // steps the lr schedule spans (all epochs)
  int64_t total_steps = 0;       // steps this run makes (train.max_steps may stop it earlier)
};

// accumulation = ceil(effective_batch / (micro_batch x world)) when train.effective_batch is set.
int64_t accumulation_steps(const TrainConfig& config, int world_size);

// The per-sample transforms of a loader: the architecture's normalisation at `size`; with
// `train`, RandomResizedCrop + flip and the config's augment.* steps, else the eval transform.
data::TransformOptions transforms_for(const TrainConfig& config, const models::ModelSpec& spec, int64_t size,
                                      bool train);

struct RunData {
  std::shared_ptr<data::ShardSet> shards;
  std::vector<size_t> train_indices, val_indices;
  int64_t num_classes = 0;
  int64_t img_size = 0;  // model.img_size, or the architecture's input size
  BatchGeometry geometry;
  std::unique_ptr<data::BatchLoader> train_loader;
  std::unique_ptr<data::BatchLoader> val_loader;  // null with train.validate=false or no val split
};

// Throws std::runtime_error naming the shard folder, split or key at fault.
RunData setup_data(const TrainConfig& config, int rank, int world_size);

}  // namespace wildreid::trainer

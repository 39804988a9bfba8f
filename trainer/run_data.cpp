// See run_data.h.
#include "trainer/run_data.h"

#include <stdexcept>

#include "models/registry.h"

namespace wildreid::trainer {

data::TransformOptions transforms_for(const TrainConfig& config, const models::ModelSpec& spec, int64_t size,
                                      bool train) {
  data::TransformOptions t;
  t.train = train;
  t.size = size;
  for (int c = 0; c < 3 && c < static_cast<int>(spec.mean.size()); ++c) {
    t.mean[c] = static_cast<float>(spec.mean[c]);
    t.std[c] = static_cast<float>(spec.std[c]);
  }
  if (train) {
    t.rotation_degrees = config.augment_rotation;
    t.brightness = config.augment_brightness;
    t.contrast = config.augment_contrast;
    t.saturation = config.augment_saturation;
    t.hue = config.augment_hue;
    t.auto_augment = config.augment_auto_augment;
    t.erasing_p = config.augment_erasing_p;
  }
  return t;
}

int64_t accumulation_steps(const TrainConfig& config, int world_size) {
  if (config.effective_batch <= 0) return config.accumulation;
  const int64_t per_micro_step = config.micro_batch * world_size;
  return std::max<int64_t>(1, (config.effective_batch + per_micro_step - 1) / per_micro_step);
}

RunData setup_data(const TrainConfig& config, int rank, int world_size) {
  if (config.data_shards.empty()) throw std::runtime_error("config: data.shards is empty");
  RunData out;
  out.shards = data::ShardSet::open(config.data_shards);
  out.train_indices = out.shards->split_indices(config.data_train_split);
  out.val_indices = out.shards->split_indices(config.data_val_split);
  if (out.train_indices.empty())
    throw std::runtime_error(config.data_shards + ": split '" + config.data_train_split + "' is empty");
  out.num_classes = static_cast<int64_t>(out.shards->num_labels());
  const models::ModelSpec& spec = models::registry().at(config.model_arch).spec;
  out.img_size = config.model_img_size > 0 ? config.model_img_size : spec.input_size;

  data::SamplerOptions sampler;
  sampler.seed = static_cast<uint64_t>(config.seed);
  sampler.rank = rank;
  sampler.world_size = world_size;
  sampler.shuffle = config.data_shuffle;
  std::vector<int64_t> labels;
  if (config.data_instances_per_identity > 0) {
    sampler.instances_per_identity = config.data_instances_per_identity;
    sampler.batch_size = config.micro_batch;
    for (size_t i : out.train_indices) labels.push_back(out.shards->info(i).label);
  }
  data::DistributedSampler train_sampler = [&] {
    try {
      return data::DistributedSampler(out.train_indices, sampler, std::move(labels));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(config.data_shards + ", split '" + config.data_train_split + "': " + e.what());
    }
  }();

  BatchGeometry& g = out.geometry;
  g.micro_batch = config.micro_batch;
  g.accumulation = accumulation_steps(config, world_size);
  g.samples_per_step = g.micro_batch * g.accumulation;
  g.steps_per_epoch = static_cast<int64_t>(train_sampler.samples_per_rank()) / g.samples_per_step;
  if (g.steps_per_epoch < 1)
    throw std::runtime_error("config: train split has " + std::to_string(train_sampler.samples_per_rank()) +
                             " samples per rank, fewer than micro_batch x accumulation = " +
                             std::to_string(g.samples_per_step));
  // The schedule spans all epochs; train.max_steps only stops early (so a run stopped by it and
  // resumed follows the same lr curve as one that was never stopped).
  g.schedule_steps = g.steps_per_epoch * config.epochs;
  g.total_steps = config.max_steps > 0 ? std::min(g.schedule_steps, config.max_steps) : g.schedule_steps;

  data::LoaderOptions loader;
  loader.batch_size = config.micro_batch;
  loader.decode_threads = static_cast<int>(std::max<int64_t>(1, config.data_workers));
  loader.seed = static_cast<uint64_t>(config.seed);
  out.train_loader = std::make_unique<data::BatchLoader>(out.shards, std::move(train_sampler),
                                                         transforms_for(config, spec, out.img_size, config.data_augment), loader);
  if (config.validate && !out.val_indices.empty()) {
    data::SamplerOptions val_sampler;
    val_sampler.seed = sampler.seed;
    val_sampler.rank = rank;
    val_sampler.world_size = world_size;
    val_sampler.shuffle = false;
    data::LoaderOptions val_loader = loader;
    val_loader.batch_size = config.micro_batch * 2;
    out.val_loader = std::make_unique<data::BatchLoader>(out.shards, data::DistributedSampler(out.val_indices, val_sampler),
                                                         transforms_for(config, spec, out.img_size, false), val_loader);
  }
  return out;
}

}  // namespace wildreid::trainer

// See training_run.h. Ordering rules that make runs reproducible and resumable:
//  - the model is created from run.seed on every rank, then rank 0's state is broadcast;
//  - an epoch has a fixed number of optimizer steps, the same on every rank
//    (samples_per_rank / (micro_batch x accumulation)); the sampler pads ranks to equal length;
//  - a checkpoint records the loader's SamplerState after the last consumed batch, the optimizer,
//    the loss scaler, counters and every rank's RNG, so a resume replays the rest exactly;
//  - each step ends with one tiny allreduce of {stop flag, loss} so all ranks agree to stop.
#include "trainer/training_run.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "checkpoints/retention.h"
#include "checkpoints/training_state.h"
#include "cluster/gradient_reducer.h"
#include "data/batch_loader.h"
#include "data/shard_reader.h"
#include "models/layers.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "monitoring/cuda_memory.h"
#include "monitoring/run_monitor.h"
#include "trainer/adamw.h"
#include "trainer/amp.h"
#include "trainer/label_names.h"
#include "trainer/cluster_gradient_sync.h"
#include "trainer/lr_schedule.h"
#include "trainer/rng_state.h"
#include "trainer/stop_signal.h"
#include "trainer/train_step.h"
#include "trainer/validation.h"

namespace wildreid::trainer {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error(tmp.string() + ": write failed");
  }
  fs::rename(tmp, path);
}

data::TransformOptions transforms_for(const models::ModelSpec& spec, int64_t size, bool train) {
  data::TransformOptions t;
  t.train = train;
  t.size = size;
  for (int c = 0; c < 3 && c < static_cast<int>(spec.mean.size()); ++c) {
    t.mean[c] = static_cast<float>(spec.mean[c]);
    t.std[c] = static_cast<float>(spec.std[c]);
  }
  return t;
}

// Progress counters stored in a checkpoint.
struct Progress {
  int64_t step = 0;                 // optimizer steps done
  data::SamplerState sampler;       // where the training loader resumes
  double best_accuracy = -1;
  int64_t epochs_without_improvement = 0;
  int64_t nonfinite_streak = 0;
};

}  // namespace

RunSummary run_training(const TrainConfig& config, const std::string& config_yaml,
                        cluster::Cluster& cluster) {
  cluster::ProcessGroup& group = cluster.process_group();
  const int rank = cluster.rank(), world = cluster.world_size();
  const c10::Device device = cluster.device();
  const bool root = rank == 0;
  if (config.run_dir.empty()) throw std::runtime_error("config: run.dir is empty");
  if (config.data_shards.empty()) throw std::runtime_error("config: data.shards is empty");
  const fs::path run_dir = config.run_dir;
  const fs::path ckpt_dir = run_dir / "checkpoints";
  if (root) {
    fs::create_directories(ckpt_dir);
    write_file_atomically(run_dir / "config.yaml", config_yaml);
  }

  // ---- data
  auto shards = data::ShardSet::open(config.data_shards);
  const auto train_indices = shards->split_indices(config.data_train_split);
  const auto val_indices = shards->split_indices(config.data_val_split);
  if (train_indices.empty())
    throw std::runtime_error(config.data_shards + ": split '" + config.data_train_split + "' is empty");
  const int64_t num_classes = static_cast<int64_t>(shards->num_labels());
  const auto label_names = label_names_metadata_of(config.data_shards);  // into every weights file

  // ---- model (same seed everywhere, then rank 0's weights win)
  at::manual_seed(static_cast<uint64_t>(config.seed));
  models::ModelOptions model_options;
  model_options.num_classes = num_classes;
  model_options.img_size = config.model_img_size;
  model_options.grad_checkpointing = config.model_grad_checkpointing;
  model_options.drop_path_rate = config.model_drop_path;
  // Initialise after construction, once the model is owned by a shared_ptr: timm-style init
  // walks modules() including the model itself, which LibTorch refuses inside a constructor.
  model_options.init_weights = false;
  auto model = models::create_model(config.model_arch, model_options);
  models::init_timm_weights(*model, 0.02);
  {
    at::NoGradGuard no_grad;
    for (auto& p : model->named_parameters())  // layer-scale gammas (timm ls_init_value)
      if (p.key().size() >= 5 && p.key().compare(p.key().size() - 5, 5, "gamma") == 0) p.value().fill_(1e-6);
  }
  const int64_t img_size = config.model_img_size > 0 ? config.model_img_size : model->spec().input_size;
  if (!config.init_from.empty()) {
    fs::path source = config.init_from;
    if (fs::is_directory(source)) source /= "model.safetensors";
    models::WeightLoadOptions load;
    load.ignore_head = config.init_new_head;
    load.strict = true;
    models::load_backbone_weights(*model, source, load);
  }
  model->to(device);
  cluster::broadcast_module_state(*model, group);
  model->train();

  std::vector<std::pair<std::string, at::Tensor>> named;
  std::vector<at::Tensor> params;
  for (const auto& item : model->named_parameters()) {
    named.emplace_back(item.key(), item.value());
    params.push_back(item.value());
  }
  AdamWOptions adamw;
  adamw.weight_decay = config.weight_decay;
  adamw.beta1 = config.beta1;
  adamw.beta2 = config.beta2;
  adamw.eps = config.eps;
  AdamW optimizer(named, adamw);
  GradScaler scaler(config.amp == AmpMode::kFp16, config.fp16_init_scale, config.fp16_growth_interval, device);
  cluster::GradientReducerOptions reducer_options;
  reducer_options.bucket_cap_bytes = static_cast<int64_t>(config.bucket_mib * 1024 * 1024);
  cluster::GradientReducer reducer(params, cluster.shared_process_group(), reducer_options);
  ClusterGradientSync sync(reducer, world);
  StepOptions step_options;
  step_options.amp = config.amp;
  step_options.label_smoothing = config.label_smoothing;
  step_options.clip_grad_norm = config.clip_grad_norm;
  TrainStep train_step([&model](const at::Tensor& x) { return model->forward(x); }, params, optimizer,
                       scaler, sync, step_options);

  // ---- batch geometry
  int64_t accumulation = config.accumulation;
  if (config.effective_batch > 0)
    accumulation = std::max<int64_t>(1, (config.effective_batch + config.micro_batch * world - 1) /
                                            (config.micro_batch * world));
  data::SamplerOptions sampler_options;
  sampler_options.seed = static_cast<uint64_t>(config.seed);
  sampler_options.rank = rank;
  sampler_options.world_size = world;
  sampler_options.shuffle = config.data_shuffle;
  data::DistributedSampler train_sampler(train_indices, sampler_options);
  const int64_t samples_per_step = config.micro_batch * accumulation;
  const int64_t steps_per_epoch = static_cast<int64_t>(train_sampler.samples_per_rank()) / samples_per_step;
  if (steps_per_epoch < 1)
    throw std::runtime_error("config: train split has " + std::to_string(train_sampler.samples_per_rank()) +
                             " samples per rank, fewer than micro_batch x accumulation = " +
                             std::to_string(samples_per_step));
  // The schedule spans all epochs; train.max_steps only stops early (so a run stopped by it and
  // resumed follows the same lr curve as one that was never stopped).
  const int64_t schedule_steps = steps_per_epoch * config.epochs;
  const int64_t total_steps = config.max_steps > 0 ? std::min(schedule_steps, config.max_steps) : schedule_steps;
  LrSchedule schedule(config.schedule, config.lr, schedule_steps, config.warmup_ratio, config.min_lr);

  data::LoaderOptions loader_options;
  loader_options.batch_size = config.micro_batch;
  loader_options.decode_threads = static_cast<int>(std::max<int64_t>(1, config.data_workers));
  loader_options.seed = static_cast<uint64_t>(config.seed);
  data::BatchLoader train_loader(shards, train_sampler,
                                 transforms_for(model->spec(), img_size, config.data_augment), loader_options);
  std::unique_ptr<data::BatchLoader> val_loader;
  if (config.validate && !val_indices.empty()) {
    data::SamplerOptions val_sampler = sampler_options;
    val_sampler.shuffle = false;
    data::LoaderOptions val_options = loader_options;
    val_options.batch_size = config.micro_batch * 2;
    val_loader = std::make_unique<data::BatchLoader>(
        shards, data::DistributedSampler(val_indices, val_sampler),
        transforms_for(model->spec(), img_size, false), val_options);
  }

  // ---- resume
  Progress progress;
  std::optional<fs::path> resume_from;
  if (config.resume == "auto") resume_from = checkpoints::latest_checkpoint(ckpt_dir);
  else if (config.resume != "off" && !config.resume.empty()) resume_from = fs::path(config.resume);
  if (resume_from) {
    const auto state = checkpoints::load_training_state(*resume_from);
    std::map<std::string, at::Tensor> weights(state.model.begin(), state.model.end());
    models::WeightLoadOptions strict;
    models::load_backbone_weights(*model, weights, strict, resume_from->string());
    optimizer.load_state_dict(state.optimizer);
    if (state.extra.count("scaler/scale"))
      scaler.load_state({state.extra.at("scaler/scale"), state.extra.at("scaler/growth_tracker")});
    const auto& p = state.progress;
    try {
      progress.step = p.at("step").get<int64_t>();
      progress.sampler = data::parse_sampler_state(p.at("sampler").get<std::string>());
      progress.best_accuracy = p.at("best_accuracy").get<double>();
      progress.epochs_without_improvement = p.at("epochs_without_improvement").get<int64_t>();
      progress.nonfinite_streak = p.at("nonfinite_streak").get<int64_t>();
      if (p.at("world_size").get<int>() != world || p.at("accumulation").get<int64_t>() != accumulation ||
          p.at("micro_batch").get<int64_t>() != config.micro_batch)
        throw std::runtime_error("was written with a different world size / micro_batch / accumulation; "
                                 "exact resume needs the same batch geometry");
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error((*resume_from / "progress.json").string() + ": " + e.what());
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(resume_from->string() + ": " + e.what());
    }
    if (static_cast<size_t>(rank) < state.rng_states.size()) restore_rng_state(state.rng_states[rank]);
    if (root) std::fprintf(stderr, "trainer: resumed from %s at step %lld (epoch %lld, position %llu)\n",
                           resume_from->c_str(), static_cast<long long>(progress.step),
                           static_cast<long long>(progress.sampler.epoch),
                           static_cast<unsigned long long>(progress.sampler.position));
  }

  // ---- monitoring
  monitoring::RunMonitorOptions monitor_options;
  monitor_options.port = static_cast<int>(config.metrics_port);
  monitor_options.bind = config.metrics_bind;
  monitor_options.port_fallback = config.metrics_port_fallback;
  monitor_options.linger_seconds = config.metrics_linger_s;
  monitor_options.job = config.metrics_job;
  monitor_options.run_dir = run_dir;
  monitor_options.rank = rank;
  monitor_options.local_rank = cluster.topology().local_rank;
  monitor_options.world_size = world;
  monitor_options.node = cluster.topology().node_name;
  monitor_options.is_rank0 = root;
  monitor_options.total_steps = total_steps;
  monitor_options.log_every_steps = config.log_every;
  monitoring::RunMonitor monitor(monitor_options);
  monitor.write_targets_file(group.allgather_strings(monitor.scrape_target()));

  // ---- checkpointing (collective: every rank calls it at the same step)
  auto save_checkpoint = [&](const data::SamplerState& position, bool is_best) {
    const auto start = Clock::now();
    const at::Tensor rng = capture_rng_state();
    std::vector<at::Tensor> all_rng = group.allgather(rng.to(group.device()));
    if (root) {
      checkpoints::TrainingState state;
      for (const auto& item : model->named_parameters()) state.model.emplace_back(item.key(), item.value().detach());
      for (const auto& item : model->named_buffers()) state.model.emplace_back(item.key(), item.value().detach());
      state.optimizer = optimizer.state_dict();
      const auto scaler_state = scaler.state();
      state.extra["scaler/scale"] = scaler_state[0];
      state.extra["scaler/growth_tracker"] = scaler_state[1];
      for (auto& t : all_rng) state.rng_states.push_back(t.cpu());
      state.progress = {{"step", progress.step},
                        {"sampler", data::to_string(position)},
                        {"best_accuracy", progress.best_accuracy},
                        {"epochs_without_improvement", progress.epochs_without_improvement},
                        {"nonfinite_streak", progress.nonfinite_streak},
                        {"world_size", world},
                        {"micro_batch", config.micro_batch},
                        {"accumulation", accumulation},
                        {"arch", config.model_arch}};
      state.config_yaml = config_yaml;
      state.model_metadata = label_names;
      const std::string name = checkpoints::checkpoint_name(progress.step);
      checkpoints::save_training_state(ckpt_dir, name, state);
      if (is_best) {
        checkpoints::mark_best_checkpoint(ckpt_dir, name);
        models::export_backbone(*model, run_dir / "best.safetensors", label_names);
      }
      checkpoints::apply_retention(ckpt_dir, static_cast<int>(config.checkpoint_keep_last));
    }
    group.barrier();
    monitor.on_checkpoint(since(start));
  };

  // ---- loop
  RunSummary summary;
  std::vector<MicroBatch> micro;
  micro.reserve(static_cast<size_t>(accumulation));
  bool stop = false, preempted = false;
  uint64_t decode_errors_reported = train_loader.skipped_records();  // for the metrics' deltas
  for (int64_t epoch = progress.sampler.epoch; epoch < config.epochs && !stop; ++epoch) {
    const data::SamplerState start_at = epoch == progress.sampler.epoch ? progress.sampler
                                                                       : data::SamplerState{epoch, 0};
    train_loader.start(start_at);
    int64_t step_in_epoch = static_cast<int64_t>(start_at.position) / samples_per_step;
    double epoch_loss = 0;
    int64_t epoch_steps = 0;
    while (step_in_epoch < steps_per_epoch && !stop) {
      const auto step_start = Clock::now();
      double data_wait = 0;
      micro.clear();
      for (int64_t m = 0; m < accumulation; ++m) {
        const auto wait_start = Clock::now();
        auto batch = train_loader.next();
        data_wait += since(wait_start);
        if (!batch || batch->labels.size(0) != config.micro_batch)
          throw std::runtime_error("rank " + std::to_string(rank) + ": training loader ended early in epoch " +
                                   std::to_string(epoch));
        micro.push_back({batch->images, batch->labels});
      }
      const double lr = schedule.at_step(progress.step);
      const bool inject = config.debug_inject_inf_step == progress.step;
      const StepResult result = train_step.run(micro, lr, inject);
      ++progress.step;
      ++step_in_epoch;
      summary.skipped_steps += result.skipped;
      progress.nonfinite_streak = result.skipped ? progress.nonfinite_streak + 1 : 0;
      if (progress.nonfinite_streak >= config.max_nonfinite)
        throw std::runtime_error("rank " + std::to_string(rank) + ": " + std::to_string(progress.nonfinite_streak) +
                                 " non-finite steps in a row (last at step " + std::to_string(progress.step) +
                                 "); lower optim.lr or use amp: fp16 loss scaling / bf16");
      // One small collective per step: agree on stopping and average the loss for the log.
      at::Tensor flags = at::tensor({stop_requested() ? 1.0 : 0.0, result.loss}, at::kDouble).to(group.device());
      group.allreduce(flags, cluster::ReduceOp::kSum);
      flags = flags.cpu();
      preempted = flags[0].item<double>() > 0;
      stop = preempted;
      const double mean_loss = flags[1].item<double>() / world;
      if (!result.skipped) {
        epoch_loss += mean_loss;
        ++epoch_steps;
      }

      monitoring::StepStats stats;
      stats.epoch = epoch;
      stats.step = progress.step;
      stats.images = samples_per_step;
      stats.global_images = samples_per_step * world;
      stats.loss = result.loss;
      stats.lr = lr;
      stats.grad_norm = result.grad_norm;
      stats.loss_scale = result.loss_scale;
      stats.phases.data_wait = data_wait;
      stats.phases.forward = result.forward_s;
      stats.phases.backward = result.backward_s;
      stats.phases.allreduce_wait = result.allreduce_wait_s;
      stats.phases.optimizer = result.optimizer_s;
      stats.step_seconds = since(step_start);
      stats.skipped_nonfinite = result.skipped;
      const uint64_t skipped_records = train_loader.skipped_records();
      stats.new_decode_errors = static_cast<int64_t>(skipped_records - decode_errors_reported);
      stats.prefetch_depth = static_cast<int64_t>(train_loader.prefetch_depth());
      decode_errors_reported = skipped_records;
      if (group.device().is_cuda())
        if (auto memory = monitoring::read_cuda_memory(group.device().index())) monitor.set_gpu_memory(*memory);
      monitor.on_step(stats);

      const bool at_limit = config.max_steps > 0 && progress.step >= config.max_steps;
      const bool periodic = config.checkpoint_every_steps > 0 && progress.step % config.checkpoint_every_steps == 0;
      // Mid-epoch checkpoint; at the epoch's end the epoch-end checkpoint below covers it.
      if ((stop || at_limit || periodic) && step_in_epoch < steps_per_epoch)
        save_checkpoint(train_loader.state(), false);
      if (at_limit) stop = true;
    }
    if (stop && step_in_epoch < steps_per_epoch) break;  // mid-epoch stop: checkpoint already written
    if (epoch_steps > 0) monitor.on_epoch_end(epoch, epoch_loss / static_cast<double>(epoch_steps));

    // End of epoch: validate, track the best, checkpoint at the start of the next epoch.
    bool is_best = false;
    if (val_loader) {
      const auto val = validate(*model, *val_loader, val_indices.size(), group, config.amp, epoch);
      monitor.on_validation(epoch, val.loss, val.accuracy);
      summary.last_val_accuracy = val.accuracy;
      if (val.accuracy > progress.best_accuracy) {
        progress.best_accuracy = val.accuracy;
        progress.epochs_without_improvement = 0;
        is_best = true;
      } else {
        ++progress.epochs_without_improvement;
      }
    } else {
      is_best = true;  // without validation the newest weights are the export
    }
    save_checkpoint({epoch + 1, 0}, is_best);
    if (config.early_stopping_patience > 0 && progress.epochs_without_improvement >= config.early_stopping_patience) {
      if (root) std::fprintf(stderr, "trainer: early stopping after %lld epochs without improvement\n",
                             static_cast<long long>(progress.epochs_without_improvement));
      break;
    }
  }
  monitor.close();
  summary.steps = progress.step;
  summary.best_val_accuracy = progress.best_accuracy;
  summary.exit_code = preempted ? kPreemptedExitCode : 0;
  return summary;
}

}  // namespace wildreid::trainer

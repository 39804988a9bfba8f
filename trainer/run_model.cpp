// See run_model.h.
#include "trainer/run_model.h"

#include <filesystem>

#include "models/model_weights.h"
#include "models/registry.h"

namespace wildreid::trainer {

std::shared_ptr<models::Backbone> create_backbone(const TrainConfig& config, int64_t num_classes) {
  at::manual_seed(static_cast<uint64_t>(config.seed));  // the same model on every rank
  models::ModelOptions options;
  options.num_classes = num_classes;
  options.img_size = config.model_img_size;
  options.grad_checkpointing = config.model_grad_checkpointing;
  options.drop_path_rate = config.model_drop_path;
  // With init.from every tensor but a new head is overwritten, so drawing timm's initialisation
  // first would only cost start-up time (seconds of random numbers for an XL model).
  options.init_weights = config.init_from.empty();
  auto model = models::create_model(config.model_arch, options);
  if (!config.init_from.empty()) {
    std::filesystem::path source = config.init_from;
    if (std::filesystem::is_directory(source)) source /= "model.safetensors";
    models::WeightLoadOptions load;
    load.ignore_head = config.init_new_head;
    load.strict = true;
    models::load_backbone_weights(*model, source, load);
    if (config.init_new_head) model->reset_classifier(num_classes);  // a fresh head, timm's init for it
  }
  return model;
}

RunModel build_model(const TrainConfig& config, int64_t num_classes, cluster::Cluster& cluster) {
  const c10::Device device = cluster.device();
  RunModel out;
  out.model = create_backbone(config, num_classes);
  out.model->to(device);
  cluster::broadcast_module_state(*out.model, cluster.process_group());  // rank 0's weights win
  out.model->train();
  out.objective = std::make_unique<Objective>(*out.model, config);

  const auto named = out.objective->trainable_parameters();
  std::vector<at::Tensor> params;
  for (const auto& item : named) params.push_back(item.second);
  AdamWOptions adamw;
  adamw.weight_decay = config.weight_decay;
  adamw.beta1 = config.beta1;
  adamw.beta2 = config.beta2;
  adamw.eps = config.eps;
  out.optimizer = std::make_unique<AdamW>(named, adamw);
  out.scaler = std::make_unique<GradScaler>(config.amp == AmpMode::kFp16, config.fp16_init_scale,
                                            config.fp16_growth_interval, device);
  cluster::GradientReducerOptions reducer;
  reducer.bucket_cap_bytes = static_cast<int64_t>(config.bucket_mib * 1024 * 1024);
  out.reducer = std::make_unique<cluster::GradientReducer>(params, cluster.shared_process_group(), reducer);
  out.sync = std::make_unique<ClusterGradientSync>(*out.reducer, cluster.world_size());
  StepOptions step;
  step.amp = config.amp;
  step.label_smoothing = config.label_smoothing;
  step.clip_grad_norm = config.clip_grad_norm;
  const Objective* objective = out.objective.get();
  out.step = std::make_unique<TrainStep>([objective](const at::Tensor& x) { return objective->forward(x); }, params,
                                         *out.optimizer, *out.scaler, *out.sync, step,
                                         [objective](const at::Tensor& output, const at::Tensor& labels) {
                                           return objective->loss(output, labels);
                                         });
  return out;
}

}  // namespace wildreid::trainer

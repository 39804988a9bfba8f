// The training run's configuration as one plain struct (llm.c style): every knob a recipe in
// configs/ may set, with its default. It has no YAML or torch types so the LibTorch-only compute
// core and the GPU benchmark can use it; config_loader.h fills it from YAML + `--set` overrides.
#pragma once
#include <cstdint>
#include <string>

namespace wildreid::trainer {

enum class AmpMode { kOff, kBf16, kFp16 };
enum class LrScheduleKind { kConstant, kLinear, kCosine };
// Cross-entropy on the backbone's classifier, or ArcFace on the same classifier weight (its rows
// are the class centres; the bias is unused and stays zero).
enum class LossKind { kCrossEntropy, kArcFace };

struct TrainConfig {
  // data
  std::string data_shards;          // directory of shard-NNNNN.h5 + manifest.json
  std::string data_train_split = "train";
  std::string data_val_split = "val";
  int64_t data_workers = 2;         // decode threads per rank
  bool data_augment = true;         // false: eval transforms for training too (deterministic)
  bool data_shuffle = true;
  // Train-time augmentation beyond RandomResizedCrop + flip (data.augment: true), torchvision's
  // meaning and defaults off: RandomRotation(degrees), ColorJitter(b, c, s, h), AutoAugment
  // (ImageNet policy), RandomErasing(p). data/transform_options.h holds the same knobs.
  double augment_rotation = 0.0;
  double augment_brightness = 0.0;
  double augment_contrast = 0.0;
  double augment_saturation = 0.0;
  double augment_hue = 0.0;
  bool augment_auto_augment = false;
  double augment_erasing_p = 0.0;
  // K > 0: every micro-batch holds micro_batch / K identities with K images each (metric
  // losses); 0 = plain shuffled batches.
  int64_t data_instances_per_identity = 0;
  // run
  std::string run_dir;              // checkpoints/, resolved config, metrics
  int64_t seed = 42;
  int64_t threads = 0;              // torch intra-op threads per rank, 0 = cores / local ranks
  // train
  int64_t epochs = 1;
  int64_t micro_batch = 8;
  int64_t accumulation = 1;         // micro-steps per optimizer step
  int64_t effective_batch = 0;      // if > 0: accumulation = effective / (micro x world)
  int64_t max_steps = 0;            // stop after this many optimizer steps (0 = run all epochs)
  int64_t max_nonfinite = 5;        // abort after this many non-finite steps in a row
  int64_t early_stopping_patience = 0;  // epochs without val-acc improvement; 0 = off
  bool validate = true;
  int64_t log_every = 10;
  // Device results (loss, gradient norm, skip flags, phase times) are read on the host, and ranks
  // agree on stopping, every N steps; 0 = auto: every step on CPU, log_every on CUDA (a read
  // waits for the GPU). Checkpoints, epoch ends and the last step always read.
  int64_t host_read_every = 0;
  // model
  std::string model_arch = "convnext_atto";
  int64_t model_img_size = 0;       // 0 = the architecture's default
  bool model_grad_checkpointing = false;
  double model_drop_path = 0.0;
  std::string init_from;            // checkpoint dir or weights file (safetensors, torch.save) to start from
  bool init_new_head = true;        // drop the source's classifier (new label set)
  // optim
  double lr = 1e-4;
  double weight_decay = 0.05;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double clip_grad_norm = 0.0;      // 0 = off
  LrScheduleKind schedule = LrScheduleKind::kCosine;
  double warmup_ratio = 0.0;
  double min_lr = 0.0;
  // loss
  LossKind loss = LossKind::kCrossEntropy;
  double label_smoothing = 0.0;
  double arcface_margin = 0.5;      // additive angular margin m (MegaDescriptor: 0.5)
  double arcface_scale = 64.0;      // logit scale s (MegaDescriptor: 64)
  // precision
  AmpMode amp = AmpMode::kOff;
  double fp16_init_scale = 65536.0;
  int64_t fp16_growth_interval = 2000;
  // checkpoints
  std::string resume = "auto";      // auto | off | PATH
  int64_t checkpoint_every_steps = 0;  // 0 = at the end of each epoch only
  int64_t checkpoint_keep_last = 2;
  // How long the other ranks wait for rank 0 to write a checkpoint (independent of the step
  // collectives' timeout: a multi-GB write plus fsync can take minutes).
  double checkpoint_wait_timeout_s = 1800.0;
  // cluster
  double bucket_mib = 25.0;
  double collective_timeout_s = 60.0;
  // metrics
  int64_t metrics_port = 0;         // 0 = no HTTP exporter
  std::string metrics_bind = "0.0.0.0";  // all interfaces, as exporters usually do
  double metrics_linger_s = 0.0;         // exporters stay up this long after training
  bool metrics_port_fallback = false;  // port taken: use the next free one instead of failing
  std::string metrics_job = "wildreid";  // `job` label on every metric
  // debugging / tests
  int64_t debug_inject_inf_step = -1;  // add inf to one gradient at this optimizer step
  double debug_checkpoint_delay_s = 0.0;  // rank 0 sleeps this long in every checkpoint write
};

}  // namespace wildreid::trainer

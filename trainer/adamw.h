// AdamW with decoupled weight decay over two parameter groups (decay / no decay), stepping through
// ATen's fused kernel (at::_fused_adamw_, CPU and CUDA) — one launch for all parameters instead
// of a loop of small ops. Parameters are fp32 master weights; the learning rate is set per step
// by the schedule. State is keyed by parameter name so checkpoints survive reordering.
#pragma once
#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

namespace wildreid::trainer {

// timm's rule: no decay on 1-D tensors (norm weights, biases), position embeddings, relative
// position bias tables and learned tokens.
bool excluded_from_weight_decay(const std::string& name, const at::Tensor& param);

struct AdamWOptions {
  double weight_decay = 0.05;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool fused = true;  // false: the reference formula in plain ATen ops (tests compare the two)
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> named_params, AdamWOptions options);

  // One update with learning rate `lr` using each parameter's .grad() (undefined grads skipped).
  // With `found_inf` (float32 [1] on the parameters' device, as GradScaler::found_inf), the update
  // is skipped on the device when it is 1 (step counters unchanged), without a host read.
  void step(double lr, const at::Tensor& found_inf = {});
  int64_t decayed_count() const;    // parameters in the decay group
  int64_t num_params() const { return static_cast<int64_t>(params_.size()); }

  // Named state tensors "exp_avg/NAME", "exp_avg_sq/NAME", "step/NAME" for checkpoints.
  std::map<std::string, at::Tensor> state_dict() const;
  // Copies saved state in; throws naming the missing/mismatched tensor.
  void load_state_dict(const std::map<std::string, at::Tensor>& state);

 private:
  struct Slot {
    std::string name;
    at::Tensor param, exp_avg, exp_avg_sq, step;
    bool decay;
  };
  void step_group(const std::vector<Slot*>& group, double lr, double weight_decay, const at::Tensor& found_inf);
  std::vector<Slot> params_;
  AdamWOptions options_;
};

}  // namespace wildreid::trainer

// See adamw.h. The fused call follows torch.optim.adamw._fused_adamw: increment the float32 step
// tensors first, then one _fused_adamw_ per (group, device, dtype).
#include "trainer/adamw.h"

#include <cmath>
#include <optional>

namespace wildreid::trainer {

bool excluded_from_weight_decay(const std::string& name, const at::Tensor& param) {
  if (param.dim() <= 1) return true;
  for (const char* marker : {"pos_embed", "relative_position_bias_table", "rel_pos", "cls_token",
                             "reg_token", "dist_token", "pos_embed_window", "absolute_pos_embed"})
    if (name.find(marker) != std::string::npos) return true;
  return name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
}

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> named_params, AdamWOptions options)
    : options_(options) {
  for (auto& [name, p] : named_params) {
    if (!p.requires_grad()) continue;
    Slot s;
    s.name = name;
    s.param = p;
    s.exp_avg = at::zeros_like(p, at::MemoryFormat::Preserve);
    s.exp_avg_sq = at::zeros_like(p, at::MemoryFormat::Preserve);
    s.step = at::zeros({}, p.options().dtype(at::kFloat));
    s.decay = !excluded_from_weight_decay(name, p);
    params_.push_back(std::move(s));
  }
}

int64_t AdamW::decayed_count() const {
  int64_t n = 0;
  for (const auto& s : params_) n += s.decay;
  return n;
}

void AdamW::step(double lr, const at::Tensor& found_inf) {
  std::vector<Slot*> decay, no_decay;
  for (auto& s : params_) {
    if (!s.param.grad().defined()) continue;
    (s.decay ? decay : no_decay).push_back(&s);
  }
  at::NoGradGuard no_grad;
  step_group(decay, lr, options_.weight_decay, found_inf);
  step_group(no_decay, lr, 0.0, found_inf);
}

void AdamW::step_group(const std::vector<Slot*>& group, double lr, double weight_decay,
                       const at::Tensor& found_inf) {
  if (group.empty()) return;
  if (!options_.fused) {
    // The reference formula (tests): reading the flag on the host is fine here.
    if (found_inf.defined() && found_inf.item<float>() != 0.0f) return;
    for (Slot* s : group) {
      const at::Tensor grad = s->param.grad();
      s->step.add_(1);
      const double step = s->step.item<float>();
      s->param.mul_(1 - lr * weight_decay);
      s->exp_avg.lerp_(grad, 1 - options_.beta1);
      s->exp_avg_sq.mul_(options_.beta2).addcmul_(grad, grad, 1 - options_.beta2);
      const double bc1 = 1 - std::pow(options_.beta1, step);
      const double bc2 = 1 - std::pow(options_.beta2, step);
      const at::Tensor denom = (s->exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(options_.eps);
      s->param.addcdiv_(s->exp_avg, denom, -lr / bc1);
    }
    return;
  }
  // One fused call per (device, dtype) bucket, as torch.optim does.
  std::map<std::pair<std::string, int>, std::vector<Slot*>> buckets;
  for (Slot* s : group)
    buckets[{s->param.device().str(), static_cast<int>(s->param.scalar_type())}].push_back(s);
  for (auto& [key, slots] : buckets) {
    std::vector<at::Tensor> params, grads, avgs, sqs, steps;
    for (Slot* s : slots) {
      params.push_back(s->param);
      grads.push_back(s->param.grad());
      avgs.push_back(s->exp_avg);
      sqs.push_back(s->exp_avg_sq);
      steps.push_back(s->step);
    }
    // As torch.optim.adamw._fused_adamw: count the step, let the kernel skip the update when
    // found_inf is set, then take the count back for a skipped step.
    at::_foreach_add_(steps, 1);
    std::optional<at::Tensor> inf;
    if (found_inf.defined()) inf = found_inf.to(params.front().device());
    at::_fused_adamw_(params, grads, avgs, sqs, /*max_exp_avg_sqs=*/{}, steps, lr, options_.beta1,
                      options_.beta2, weight_decay, options_.eps, /*amsgrad=*/false,
                      /*maximize=*/false, /*grad_scale=*/std::nullopt, inf);
    if (inf) at::_foreach_sub_(steps, std::vector<at::Tensor>(steps.size(), inf->reshape({})));
  }
}

std::map<std::string, at::Tensor> AdamW::state_dict() const {
  std::map<std::string, at::Tensor> out;
  for (const auto& s : params_) {
    out["exp_avg/" + s.name] = s.exp_avg;
    out["exp_avg_sq/" + s.name] = s.exp_avg_sq;
    out["step/" + s.name] = s.step;
  }
  return out;
}

void AdamW::load_state_dict(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  for (auto& s : params_) {
    for (auto [prefix, target] : {std::pair<const char*, at::Tensor*>{"exp_avg/", &s.exp_avg},
                                  {"exp_avg_sq/", &s.exp_avg_sq},
                                  {"step/", &s.step}}) {
      auto it = state.find(prefix + s.name);
      TORCH_CHECK(it != state.end(), "optimizer state: missing tensor '", prefix, s.name, "'");
      TORCH_CHECK(it->second.sizes() == target->sizes(), "optimizer state: tensor '", prefix, s.name,
                  "' has shape ", it->second.sizes(), ", parameter needs ", target->sizes());
      target->copy_(it->second);
    }
  }
}

}  // namespace wildreid::trainer

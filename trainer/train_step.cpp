// See train_step.h. Loss per micro-step is divided by the number of micro-steps so accumulated
// gradients equal those of one big batch (equal micro-batch sizes), and the reducer's average
// over ranks makes W ranks x B equal one rank x W*B.
#include "trainer/train_step.h"

#include <chrono>
#include <limits>

namespace wildreid::trainer {
namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

double clip_grad_norm(const std::vector<at::Tensor>& grads, double max_norm) {
  std::vector<at::Tensor> defined;
  for (const auto& g : grads)
    if (g.defined()) defined.push_back(g);
  if (defined.empty()) return 0.0;
  at::NoGradGuard no_grad;
  const auto norms = at::_foreach_norm(defined, 2);
  const at::Tensor total = at::stack(norms).to(at::kFloat).norm(2);
  const double value = total.item<double>();
  if (max_norm > 0 && value > max_norm) {
    const at::Tensor coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    at::_foreach_mul_(defined, coef);
  }
  return value;
}

TrainStep::TrainStep(Forward forward, std::vector<at::Tensor> params, AdamW& optimizer,
                     GradScaler& scaler, GradientSync& sync, StepOptions options)
    : forward_(std::move(forward)),
      params_(std::move(params)),
      optimizer_(optimizer),
      scaler_(scaler),
      sync_(sync),
      options_(options) {}

at::Tensor TrainStep::loss(const at::Tensor& logits, const at::Tensor& labels) const {
  return at::cross_entropy_loss(logits.to(at::kFloat), labels, {}, at::Reduction::Mean, -100,
                                options_.label_smoothing);
}

StepResult TrainStep::run(const std::vector<MicroBatch>& micro, double lr, bool inject_inf) {
  TORCH_CHECK(!micro.empty(), "TrainStep::run: no micro-batches");
  StepResult result;
  result.loss_scale = scaler_.scale();
  const at::Device device = params_.front().device();
  const double parts = static_cast<double>(micro.size());
  at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device));
  for (size_t i = 0; i < micro.size(); ++i) {
    sync_.set_sync(i + 1 == micro.size());
    const at::Tensor images = micro[i].images.to(device, /*non_blocking=*/true);
    const at::Tensor labels = micro[i].labels.to(device, /*non_blocking=*/true);
    auto start = std::chrono::steady_clock::now();
    at::Tensor loss;
    {
      AutocastScope autocast(options_.amp, device.type());
      loss = this->loss(forward_(images), labels);
    }
    result.forward_s += seconds_since(start);
    start = std::chrono::steady_clock::now();
    scaler_.scale_loss(loss / parts).backward();
    result.backward_s += seconds_since(start);
    loss_sum += loss.detach();
  }
  result.allreduce_wait_s = sync_.finish();

  const auto start = std::chrono::steady_clock::now();
  std::vector<at::Tensor> grads;
  grads.reserve(params_.size());
  for (const auto& p : params_) grads.push_back(p.grad());
  if (inject_inf) {
    for (auto& g : grads)
      if (g.defined()) {
        g.view(-1)[0].fill_(std::numeric_limits<float>::infinity());
        break;
      }
  }
  const bool non_finite = scaler_.unscale_and_check(grads);
  if (non_finite) {
    result.skipped = true;
    result.grad_norm = std::numeric_limits<double>::quiet_NaN();
  } else {
    result.grad_norm = clip_grad_norm(grads, options_.clip_grad_norm);
    optimizer_.step(lr);
  }
  scaler_.update();
  for (auto& p : params_) p.mutable_grad().reset();
  result.optimizer_s = seconds_since(start);
  result.loss = loss_sum.item<double>() / parts;
  return result;
}

}  // namespace wildreid::trainer

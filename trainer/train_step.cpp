// See train_step.h. Loss per micro-step is divided by the number of micro-steps so accumulated
// gradients equal those of one big batch (equal micro-batch sizes), and the reducer's average
// over ranks makes W ranks x B equal one rank x W*B.
#include "trainer/train_step.h"

#include <limits>

namespace wildreid::trainer {

HostStepResult StepResult::read() const {
  // One copy for the four scalars.
  const at::Tensor host = at::stack({loss.to(at::kFloat), grad_norm.to(at::kFloat), skipped.to(at::kFloat),
                                     loss_scale.to(at::kFloat).reshape({})})
                              .cpu();
  const float* v = host.data_ptr<float>();
  HostStepResult out;
  out.loss = v[0];
  out.grad_norm = v[1];
  out.skipped = v[2] != 0.0f;
  out.loss_scale = v[3];
  if (phases) out.phases = phases->read();
  return out;
}

at::Tensor clip_grad_norm(const std::vector<at::Tensor>& grads, double max_norm) {
  std::vector<at::Tensor> defined;
  for (const auto& g : grads)
    if (g.defined()) defined.push_back(g);
  if (defined.empty()) return at::zeros({}, at::kFloat);
  at::NoGradGuard no_grad;
  const auto norms = at::_foreach_norm(defined, 2);
  const at::Tensor total = at::stack(norms).to(at::kFloat).norm(2);
  if (max_norm > 0) {
    // clamp(max_norm / (norm + eps), max=1): multiplying by 1 when under the limit costs less
    // than asking the host whether it is.
    const at::Tensor coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    at::_foreach_mul_(defined, coef);
  }
  return total;
}

TrainStep::TrainStep(Forward forward, std::vector<at::Tensor> params, AdamW& optimizer,
                     GradScaler& scaler, GradientSync& sync, StepOptions options, Loss loss)
    : forward_(std::move(forward)),
      loss_(std::move(loss)),
      params_(std::move(params)),
      optimizer_(optimizer),
      scaler_(scaler),
      sync_(sync),
      options_(options) {}

at::Tensor TrainStep::loss(const at::Tensor& output, const at::Tensor& labels) const {
  if (loss_) return loss_(output, labels);
  return at::cross_entropy_loss(output.to(at::kFloat), labels, {}, at::Reduction::Mean, -100,
                                options_.label_smoothing);
}

StepResult TrainStep::run(const std::vector<MicroBatch>& micro, double lr, bool inject_inf) {
  TORCH_CHECK(!micro.empty(), "TrainStep::run: no micro-batches");
  StepResult result;
  const at::Device device = params_.front().device();
  result.phases = std::make_shared<PhaseClock>(device);
  result.phases->start();
  result.loss_scale = scaler_.scale_tensor().clone();
  const double parts = static_cast<double>(micro.size());
  at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device));
  for (size_t i = 0; i < micro.size(); ++i) {
    sync_.set_sync(i + 1 == micro.size());
    const at::Tensor images = micro[i].images.to(device, /*non_blocking=*/true);
    const at::Tensor labels = micro[i].labels.to(device, /*non_blocking=*/true);
    at::Tensor loss;
    {
      AutocastScope autocast(options_.amp, device.type());
      loss = this->loss(forward_(images), labels);
    }
    result.phases->lap(Phase::kForward);
    scaler_.scale_loss(loss / parts).backward();
    result.phases->lap(Phase::kBackward);
    loss_sum += loss.detach();
  }
  sync_.finish();
  result.phases->lap(Phase::kAllreduceWait);

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
  scaler_.unscale_and_check(grads);
  const at::Tensor found_inf = scaler_.found_inf();
  const at::Tensor norm = clip_grad_norm(grads, options_.clip_grad_norm);
  optimizer_.step(lr, found_inf);  // skips its update on the device when found_inf is set
  scaler_.update();
  for (auto& p : params_) p.mutable_grad().reset();
  result.phases->lap(Phase::kOptimizer);
  result.skipped = found_inf.reshape({}).clone();
  result.grad_norm = at::where(result.skipped > 0, at::full({}, std::numeric_limits<float>::quiet_NaN(), norm.options()),
                               norm.to(device));
  result.loss = loss_sum / parts;
  return result;
}

}  // namespace wildreid::trainer

// See validation.h.
#include "trainer/validation.h"

#include "trainer/amp.h"

namespace wildreid::trainer {

ValidationResult validate(models::Backbone& model, const ClassLogits& class_logits, data::BatchLoader& loader,
                          size_t split_size, cluster::ProcessGroup& group, AmpMode amp, int64_t epoch) {
  const c10::Device device = model.parameters().front().device();
  at::NoGradGuard no_grad;
  model.eval();
  // Sums stay on the device until the one allreduce at the end (no host sync per batch).
  const auto f64 = at::TensorOptions().dtype(at::kDouble).device(device);
  at::Tensor loss_sum = at::zeros({}, f64), correct = at::zeros({}, f64);
  double count = 0;
  int64_t sample = 0;  // this rank's position in its share
  loader.start({epoch, 0});
  while (auto batch = loader.next()) {
    const int64_t n = batch->labels.size(0);
    // Position of this rank's i-th sample in the epoch order is rank + i * world.
    int64_t keep = 0;
    while (keep < n && static_cast<size_t>(group.rank() + (sample + keep) * group.size()) < split_size) ++keep;
    sample += n;
    if (keep == 0) continue;
    const at::Tensor images = batch->images.narrow(0, 0, keep).to(device, /*non_blocking=*/true);
    const at::Tensor labels = batch->labels.narrow(0, 0, keep).to(device, /*non_blocking=*/true);
    at::Tensor logits;
    {
      AutocastScope autocast(amp, device.type());
      logits = class_logits(images);
    }
    logits = logits.to(at::kFloat);
    loss_sum += at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum);
    correct += logits.argmax(1).eq(labels).sum();
    count += static_cast<double>(keep);
  }
  model.train();
  at::Tensor totals = at::stack({loss_sum, correct, at::full({}, count, f64)}).to(group.device());
  group.allreduce(totals, cluster::ReduceOp::kSum);
  totals = totals.cpu();
  ValidationResult result;
  result.count = static_cast<int64_t>(totals[2].item<double>());
  if (result.count > 0) {
    result.loss = totals[0].item<double>() / static_cast<double>(result.count);
    result.accuracy = totals[1].item<double>() / static_cast<double>(result.count);
  }
  return result;
}

}  // namespace wildreid::trainer

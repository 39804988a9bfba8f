// Shared by the step benchmarks: builds a registered model with timm init, its parameter list,
// and a batch of random images/labels, so the CPU DDP benchmark and the GPU check measure the
// same thing as the Python baseline (tools/ddp_train_step_baseline.py).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/layers.h"
#include "models/registry.h"
#include "trainer/train_step.h"

namespace wildreid::bench {

struct StepModel {
  std::shared_ptr<models::Backbone> model;
  std::vector<std::pair<std::string, at::Tensor>> named;
  std::vector<at::Tensor> params;
};

inline StepModel make_step_model(const std::string& arch, int64_t classes, int64_t img, bool grad_ckpt,
                                 c10::Device device) {
  models::ModelOptions options;
  options.num_classes = classes;
  options.img_size = img;
  options.grad_checkpointing = grad_ckpt;
  StepModel out;
  out.model = models::create_model(arch, options);
  out.model->to(device);
  out.model->train();
  for (const auto& item : out.model->named_parameters()) {
    out.named.emplace_back(item.key(), item.value());
    out.params.push_back(item.value());
  }
  return out;
}

inline trainer::MicroBatch random_batch(int64_t batch, int64_t img, int64_t classes, c10::Device device) {
  return {at::randn({batch, 3, img, img}, at::TensorOptions().device(device)),
          at::randint(0, classes, {batch}, at::TensorOptions().dtype(at::kLong).device(device))};
}

}  // namespace wildreid::bench

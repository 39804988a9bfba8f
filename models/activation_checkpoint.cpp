// Reentrant activation checkpointing (see activation_checkpoint.h).
#include "models/activation_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/custom_class.h>

#include <mutex>

namespace wildreid::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct BlockHolder : torch::CustomClassHolder {
  BlockFn block;
  at::Tensor rng_state;  // generator state of the input's device at forward time
  bool autocast = false;
  at::ScalarType autocast_dtype = at::kFloat;
};

at::Generator generator_for(const at::Device& device) {
  return at::globalContext().defaultGenerator(device);
}

at::Tensor get_rng_state(const at::Device& device) {
  auto gen = generator_for(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_rng_state(const at::Device& device, const at::Tensor& state) {
  auto gen = generator_for(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, c10::intrusive_ptr<BlockHolder> holder) {
    const auto device_type = x.device().type();
    holder->rng_state = get_rng_state(x.device());
    holder->autocast = at::autocast::is_autocast_enabled(device_type);
    if (holder->autocast) holder->autocast_dtype = at::autocast::get_autocast_dtype(device_type);
    ctx->save_for_backward({x});
    ctx->saved_data["holder"] = c10::IValue::make_capsule(holder);
    return holder->block(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto holder = c10::static_intrusive_pointer_cast<BlockHolder>(ctx->saved_data["holder"].toCapsule());
    at::Tensor saved = ctx->get_saved_variables()[0];
    const auto device = saved.device();
    at::Tensor x = saved.detach().requires_grad_(true);
    at::Tensor y;
    {
      // Re-run under the forward's RNG state (dropout/drop-path masks repeat), then restore ours.
      at::Tensor current = get_rng_state(device);
      set_rng_state(device, holder->rng_state);
      at::AutoGradMode grad(true);
      const auto type = device.type();
      const bool prev_enabled = at::autocast::is_autocast_enabled(type);
      const auto prev_dtype = at::autocast::get_autocast_dtype(type);
      at::autocast::set_autocast_enabled(type, holder->autocast);
      if (holder->autocast) at::autocast::set_autocast_dtype(type, holder->autocast_dtype);
      try {
        y = holder->block(x);
      } catch (...) {
        at::autocast::set_autocast_enabled(type, prev_enabled);
        at::autocast::set_autocast_dtype(type, prev_dtype);
        set_rng_state(device, current);
        throw;
      }
      at::autocast::set_autocast_enabled(type, prev_enabled);
      at::autocast::set_autocast_dtype(type, prev_dtype);
      set_rng_state(device, current);
    }
    torch::autograd::backward({y}, {grad_outputs[0]});
    return {x.grad(), at::Tensor()};
  }
};

}  // namespace

at::Tensor checkpoint_block(const BlockFn& block, const at::Tensor& x) {
  if (!at::GradMode::is_enabled() || !x.requires_grad()) return block(x);
  auto holder = c10::make_intrusive<BlockHolder>();
  holder->block = block;
  return CheckpointFunction::apply(x, holder);
}

}  // namespace wildreid::models

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

// Autocast state for the re-run, restored on scope exit (also when the block throws).
class RecomputeAutocast {
 public:
  RecomputeAutocast(at::DeviceType type, bool enabled, at::ScalarType dtype)
      : type_(type),
        prev_enabled_(at::autocast::is_autocast_enabled(type)),
        prev_dtype_(at::autocast::get_autocast_dtype(type)),
        enabled_(enabled) {
    at::autocast::set_autocast_enabled(type, enabled);
    if (!enabled) return;
    at::autocast::set_autocast_dtype(type, dtype);
    at::autocast::increment_nesting();
  }
  ~RecomputeAutocast() {
    if (enabled_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, prev_enabled_);
    at::autocast::set_autocast_dtype(type_, prev_dtype_);
  }
  RecomputeAutocast(const RecomputeAutocast&) = delete;
  RecomputeAutocast& operator=(const RecomputeAutocast&) = delete;

 private:
  at::DeviceType type_;
  bool prev_enabled_;
  at::ScalarType prev_dtype_;
  bool enabled_;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, c10::intrusive_ptr<BlockHolder> holder) {
    const auto device_type = x.device().type();
    holder->rng_state = get_rng_state(x.device());
    holder->autocast = at::autocast::is_autocast_enabled(device_type);
    if (holder->autocast) holder->autocast_dtype = at::autocast::get_autocast_dtype(device_type);
    ctx->save_for_backward({x});
    ctx->saved_data["holder"] = c10::IValue::make_capsule(holder);
    // Run with grad mode on, as the re-run in backward will be, so blocks and kernels that pick
    // their implementation by grad mode (the attentions spelled out while autograd records)
    // compute the same values in both. The output is detached before it is returned: apply()
    // gives a plain output this Function's history, which drops the graph just recorded, but when
    // the block returns a view (MaxViT's NHWC -> NCHW permute, Swin's reshape) the view's base
    // keeps that graph, and with it every activation of the block, alive until backward.
    at::AutoGradMode grad(true);
    return holder->block(x.detach()).detach();
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto holder = c10::static_intrusive_pointer_cast<BlockHolder>(ctx->saved_data["holder"].toCapsule());
    at::Tensor saved = ctx->get_saved_variables()[0];
    const auto device = saved.device();
    at::Tensor x = saved.detach().requires_grad_(true);
    at::Tensor y;
    {
      // Re-run under the forward's RNG state (dropout/drop-path masks repeat) and autocast state,
      // then restore ours. The re-run is its own autocast region, entered and left as
      // torch.autocast does (nesting count, cast cache cleared on the way out): otherwise the
      // low-precision weight copies it casts stay cached past the optimizer step and the next
      // forward runs with the previous step's weights.
      const at::Tensor current = get_rng_state(device);
      set_rng_state(device, holder->rng_state);
      at::AutoGradMode grad(true);
      RecomputeAutocast autocast(device.type(), holder->autocast, holder->autocast_dtype);
      try {
        y = holder->block(x);
      } catch (...) {
        set_rng_state(device, current);
        throw;
      }
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

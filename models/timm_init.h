// The distributions timm's model constructors draw from, as small reusable pieces, so each family's
// Backbone::init_weights() reads like timm's own init code for that family and a model trained
// from scratch here starts where timm's would. Which rule applies to which layer is the family's
// business (ConvNeXt: trunc-normal everywhere; ViT/Swin: trunc-normal Linears, PyTorch default
// patch embedding; MaxViT "vit_eff": fan-out normal convs, Xavier attention, PyTorch default head).
// tests/models/init_stats_test.cpp checks every parameter's statistics against a fresh timm model.
//
// Start-up cost: drawing 475M random numbers on one core takes seconds (ATen's CPU random kernels
// are serial), so an init_weights() holds a ParallelInit: while it exists the random fills below
// (and zero_bias) are queued, and run() draws them in chunks of 2^20 elements on all intra-op
// threads, each chunk from its own generator seeded from one draw of the default generator and
// the chunk's index. at::manual_seed still decides the weights, and they do not depend on the
// thread count. Without a ParallelInit (e.g. reset_classifier's fresh head) fills run at once.
#pragma once
#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <string>
#include <vector>

namespace wildreid::models::timm_init {

// A Linear or Conv2d (models/layers.h) inside a module tree.
struct Layer {
  std::string name;       // dotted path from the root, e.g. "stages.0.blocks.1.conv.conv2_kxk"
  at::Tensor weight, bias;  // bias undefined when the layer has none
  int64_t fan_in = 0;     // in/groups x k x k (torch.nn.init's fan_in)
  int64_t fan_out = 0;    // out x k x k (torch.nn.init's fan_out)
  int64_t groups = 1;
  bool conv = false;
};

// Every Linear/Conv2d below `root` (root itself excluded), in registration order.
std::vector<Layer> layers(torch::nn::Module& root);

// Queues this thread's random fills until run(); see the header comment.
class ParallelInit {
 public:
  ParallelInit();   // throws std::logic_error if one is already active on this thread
  ~ParallelInit();  // stops queueing; fills not run are dropped (init_weights threw)
  ParallelInit(const ParallelInit&) = delete;
  ParallelInit& operator=(const ParallelInit&) = delete;
  // Draws every queued fill (the last one queued for a tensor wins, as if run in order).
  void run();

  struct Fill;

 private:
  std::vector<Fill>* queue_;
};

// timm.layers.trunc_normal_(t, std=std) (a = -2, b = 2: absolute bounds, as timm uses them).
void trunc_normal(at::Tensor t, double std);
// t.normal_(mean, std) and t.uniform_(from, to), queued under a ParallelInit.
void normal(at::Tensor t, double mean, double std);
void uniform(at::Tensor t, double from, double to);
// nn.Linear / nn.Conv2d reset_parameters(): kaiming_uniform_(a=sqrt(5)) weight, bias uniform in
// +-1/sqrt(fan_in).
void torch_default(const Layer& layer);
// nn.init.xavier_uniform_.
void xavier_uniform(const Layer& layer);
// timm's efficientnet-like conv init: normal(0, sqrt(2 / (k x k x out / groups))).
void fan_out_normal(const Layer& layer);
// trunc_normal(weight, std) and a zero bias: the Linear rule of ConvNeXt, ViT and Swin.
void trunc_normal_zero_bias(const Layer& layer, double std = 0.02);
// The Layer view of one Linear (e.g. a freshly reset classifier).
Layer linear_layer(const std::string& name, const at::Tensor& weight, const at::Tensor& bias);
// Zeroes the bias when present.
void zero_bias(const Layer& layer);
// LayerNorm weights 1 and biases 0 (the PyTorch default every family keeps).
void reset_layer_norms(torch::nn::Module& root);

// True when `name` ends with `suffix`.
bool ends_with(const std::string& name, const std::string& suffix);

}  // namespace wildreid::models::timm_init

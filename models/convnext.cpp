// ConvNeXt forward and registration (see convnext.h). Submodule containers are plain Modules
// named "0", "1", ... so that parameter names match timm's nn.Sequential indices.
#include "models/convnext.h"

#include <ATen/ATen.h>

#include "models/activation_checkpoint.h"
#include "models/arch_overrides.h"
#include "models/depthwise_conv.h"
#include "models/registry.h"
#include "models/timm_init.h"

namespace wildreid::models {
namespace {


std::shared_ptr<torch::nn::Module> container(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

}  // namespace

ConvNeXtBlockImpl::ConvNeXtBlockImpl(int64_t dim, bool conv_mlp, double drop_path)
    : conv_mlp_(conv_mlp), drop_path_(drop_path) {
  conv_dw_ = register_module("conv_dw", Conv2d(Conv2dArgs{.in = dim, .out = dim, .kernel = 7, .padding = 3, .groups = dim}));
  norm_ = register_module("norm", LayerNorm(dim, 1e-6));
  mlp_ = register_module("mlp", Mlp(dim, 4 * dim, dim, conv_mlp));
  gamma_ = register_parameter("gamma", at::empty({dim}));
}

at::Tensor ConvNeXtBlockImpl::forward(const at::Tensor& input) {
  at::Tensor x = depthwise_conv2d_same(input, conv_dw_->weight, conv_dw_->bias);
  // NCHW ConvMlp blocks run as timm's (1x1 convolutions); channels-last ones take the tokens-last
  // path below, where the permute is free and the 1x1 convolutions are plain matrix products.
  if (conv_mlp_ && !x.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    x = norm_->forward(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
    x = mlp_->forward(x).mul(gamma_.reshape({1, -1, 1, 1}));
  } else {
    // As timm: the layer-scale multiply runs channels-last, on the MLP's contiguous output.
    x = mlp_->forward_tokens_last(norm_->forward(x.permute({0, 2, 3, 1}))).mul(gamma_).permute({0, 3, 1, 2});
  }
  return drop_path(x, drop_path_, is_training()) + input;
}

ConvNeXtStageImpl::ConvNeXtStageImpl(int64_t in, int64_t out, int64_t depth, bool downsample, bool conv_mlp,
                                     const std::vector<double>& drop_path) {
  if (downsample) {
    auto ds = container(*this, "downsample");
    downsample_norm_ = ds->register_module("0", LayerNorm2d(in, 1e-6));
    downsample_conv_ = ds->register_module("1", Conv2d(Conv2dArgs{.in = in, .out = out, .kernel = 2, .stride = 2}));
  }
  auto blocks = container(*this, "blocks");
  for (int64_t i = 0; i < depth; ++i)
    blocks_.push_back(blocks->register_module(std::to_string(i), ConvNeXtBlock(out, conv_mlp, drop_path[i])));
}

at::Tensor ConvNeXtStageImpl::forward(const at::Tensor& input) {
  at::Tensor x = input;
  if (downsample_conv_) x = downsample_conv_->forward(downsample_norm_->forward(x));
  return run_blocks(blocks_, x, grad_checkpointing && is_training());
}

ConvNeXt::ConvNeXt(const ModelSpec& spec, const ConvNeXtConfig& config, const ModelOptions& options)
    : config_(config), channels_last_(options.channels_last) {
  spec_ = spec;
  spec_.embed_dim = config.dims.back();
  auto stem = container(*this, "stem");
  stem_conv_ = stem->register_module("0", Conv2d(Conv2dArgs{.in = config.in_chans, .out = config.dims[0], .kernel = 4, .stride = 4}));
  stem_norm_ = stem->register_module("1", LayerNorm2d(config.dims[0], 1e-6));
  auto rates = drop_path_rates(options.drop_path_rate, config.depths);
  auto stages = container(*this, "stages");
  for (size_t i = 0; i < config.depths.size(); ++i) {
    int64_t in = i == 0 ? config.dims[0] : config.dims[i - 1];
    stages_.push_back(stages->register_module(
        std::to_string(i), ConvNeXtStage(in, config.dims[i], config.depths[i], i > 0, config.conv_mlp, rates[i])));
  }
  head_ = container(*this, "head");
  head_norm_ = head_->register_module("norm", LayerNorm2d(config.dims.back(), 1e-6));
  if (options.num_classes > 0) head_fc_ = head_->register_module("fc", Linear(config.dims.back(), options.num_classes));
  set_grad_checkpointing(options.grad_checkpointing);
  if (channels_last_) to_channels_last(*this);
}

at::Tensor ConvNeXt::forward_features(const at::Tensor& input) {
  at::Tensor x = channels_last_ ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
  x = stem_norm_->forward(stem_conv_->forward(x));
  for (auto& stage : stages_) x = stage->forward(x);
  return x;
}

at::Tensor ConvNeXt::forward_embedding(const at::Tensor& features) {
  return head_norm_->forward(features.mean({2, 3}, /*keepdim=*/true)).flatten(1);
}

at::Tensor ConvNeXt::forward_classifier(const at::Tensor& embedding) {
  return head_fc_ ? head_fc_->forward(embedding) : embedding;
}

void ConvNeXt::reset_classifier(int64_t num_classes) {
  if (head_fc_) head_->unregister_module("fc");
  head_fc_ = nullptr;
  spec_.num_classes = num_classes;
  if (num_classes <= 0) return;
  at::Device device = head_norm_->weight.device();
  head_fc_ = head_->register_module("fc", Linear(config_.dims.back(), num_classes));
  init_head();
  head_fc_->to(device);
}

// timm's convnext._init_weights: trunc-normal(.02) Conv2d/Linear weights, zero biases, layer-scale
// gammas at ls_init_value, the head scaled by head_init_scale (1 in every config used here).
void ConvNeXt::init_weights() {
  at::NoGradGuard no_grad;
  timm_init::ParallelInit parallel;
  for (const auto& layer : timm_init::layers(*this)) timm_init::trunc_normal_zero_bias(layer);
  timm_init::reset_layer_norms(*this);
  for (auto& p : named_parameters())
    if (timm_init::ends_with(p.key(), "gamma")) p.value().fill_(config_.ls_init_value);
  parallel.run();
}

void ConvNeXt::init_head() {
  if (head_fc_) timm_init::trunc_normal_zero_bias(timm_init::linear_layer("head.fc", head_fc_->weight, head_fc_->bias));
}

void ConvNeXt::set_grad_checkpointing(bool enabled) {
  for (auto& s : stages_) s->grad_checkpointing = enabled;
}

namespace {

std::shared_ptr<Backbone> make_convnext(const ModelSpec& spec, ConvNeXtConfig config, const ModelOptions& options) {
  ArchOverrides overrides(options.arch_overrides, spec.name);
  overrides.read("depths", config.depths);
  overrides.read("dims", config.dims);
  overrides.read("conv_mlp", config.conv_mlp);
  overrides.read("ls_init_value", config.ls_init_value);
  overrides.read("in_chans", config.in_chans);
  overrides.finish();
  if (config.depths.size() != config.dims.size() || config.depths.empty())
    throw std::runtime_error("model '" + spec.name + "': depths and dims must be non-empty and of equal length");
  return std::make_shared<ConvNeXt>(spec, config, options);
}

void add(Registry& r, const std::string& name, int64_t input_size, ConvNeXtConfig config) {
  ModelSpec spec{.name = name, .family = "convnext", .input_size = input_size, .mean = kImagenetMean,
                 .std = kImagenetStd, .embed_dim = config.dims.back()};
  r.add(spec, [config](const ModelSpec& s, const ModelOptions& o) { return make_convnext(s, config, o); });
}

}  // namespace

void register_convnext_models(Registry& r) {
  add(r, "convnext_atto.d2_in1k", 224, {.depths = {2, 2, 6, 2}, .dims = {40, 80, 160, 320}, .conv_mlp = true});
  add(r, "convnext_tiny.in12k_ft_in1k", 224, {.depths = {3, 3, 9, 3}, .dims = {96, 192, 384, 768}});
  add(r, "convnext_small.in12k_ft_in1k", 224, {.depths = {3, 3, 27, 3}, .dims = {96, 192, 384, 768}});
  add(r, "convnext_base.fb_in22k_ft_in1k", 224, {.depths = {3, 3, 27, 3}, .dims = {128, 256, 512, 1024}});
  add(r, "convnext_large.fb_in22k_ft_in1k", 224, {.depths = {3, 3, 27, 3}, .dims = {192, 384, 768, 1536}});
  add(r, "convnext_xlarge.fb_in22k_ft_in1k_384", 384, {.depths = {3, 3, 27, 3}, .dims = {256, 512, 1024, 2048}});
}

}  // namespace wildreid::models

// See maxvit.h. Construction mirrors timm's MaxxVit.__init__ for block type 'M' everywhere: every
// stage halves the resolution in its first block's depthwise conv, window = grid = img_size / 32.
#include "models/maxvit.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

#include "models/maxvit_rel_pos_bias.h"
#include "models/timm_init.h"

namespace wildreid::models {

MaxVit::MaxVit(const ModelSpec& spec, const MaxVitConfig& config, const ModelOptions& options)
    : config_(config), channels_last_(options.channels_last) {
  const size_t num_stages = config.depths.size();
  if (num_stages == 0 || config.embed_dim.size() != num_stages)
    throw std::invalid_argument("model '" + spec.name + "': depths and embed_dim must have the same, non-zero length");
  if (config.head_hidden_size <= 0)
    throw std::invalid_argument("model '" + spec.name + "': only the `_tf_` head with a pre-logits layer is supported");
  const int64_t window = config.window();
  const int64_t final_res = config.img_size >> (num_stages + 1);
  if (window <= 0 || config.img_size % (int64_t{1} << (num_stages + 1)) != 0 || final_res % window != 0)
    throw std::invalid_argument("model '" + spec.name + "': img_size " + std::to_string(config.img_size) +
                                " does not give feature maps divisible by the window " + std::to_string(window));
  spec_ = spec;
  spec_.input_size = config.img_size;
  spec_.embed_dim = config.embedding_dim();

  auto stem = register_module("stem", std::make_shared<torch::nn::Module>());
  stem_conv1_ = stem->register_module("conv1", MaxVitSameConv2d(Conv2dArgs{.in = config.in_chans, .out = config.stem_width,
                                                                           .kernel = 3, .stride = 2, .bias = config.stem_bias}));
  stem_norm1_ = stem->register_module("norm1", MaxVitBatchNormAct(config.stem_width, config.conv_norm_eps, true));
  stem_conv2_ = stem->register_module("conv2", MaxVitSameConv2d(Conv2dArgs{.in = config.stem_width, .out = config.stem_width,
                                                                           .kernel = 3, .stride = 1, .bias = config.stem_bias}));
  auto stages = register_module("stages", std::make_shared<torch::nn::Module>());
  const auto rates = drop_path_rates(options.drop_path_rate, config.depths);
  int64_t in = config.stem_width;
  for (size_t i = 0; i < num_stages; ++i) {
    stages_.push_back(stages->register_module(
        std::to_string(i), MaxVitStage(config, in, config.embed_dim[i], config.depths[i], rates[i])));
    in = config.embed_dim[i];
  }
  head_ = register_module("head", std::make_shared<torch::nn::Module>());
  head_norm_ = head_->register_module("norm", LayerNorm(config.num_features(), config.transformer_norm_eps));
  auto pre_logits = head_->register_module("pre_logits", std::make_shared<torch::nn::Module>());
  pre_logits_fc_ = pre_logits->register_module("fc", Linear(config.num_features(), config.head_hidden_size));
  spec_.num_classes = options.num_classes;
  if (options.num_classes > 0)
    head_fc_ = head_->register_module("fc", Linear(config.head_hidden_size, options.num_classes));
  set_grad_checkpointing(options.grad_checkpointing);
  if (channels_last_) to_channels_last(*this);
}

at::Tensor MaxVit::forward_features(const at::Tensor& input) {
  if (input.dim() != 4 || input.size(1) != config_.in_chans || input.size(2) != config_.img_size ||
      input.size(3) != config_.img_size)
    throw std::invalid_argument("model '" + spec_.name + "': input of shape " + c10::str(input.sizes()) +
                                " does not match [B, " + std::to_string(config_.in_chans) + ", " +
                                std::to_string(config_.img_size) + ", " + std::to_string(config_.img_size) + "]");
  at::Tensor x = channels_last_ ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
  x = stem_conv2_->forward(stem_norm1_->forward(stem_conv1_->forward(x)));
  for (auto& stage : stages_) x = stage->forward(x);
  return x;
}

at::Tensor MaxVit::forward_embedding(const at::Tensor& features) {
  auto pooled = head_norm_->forward(features.mean({2, 3}));
  return at::tanh(pre_logits_fc_->forward(pooled));
}

at::Tensor MaxVit::forward_classifier(const at::Tensor& embedding) {
  return head_fc_ ? head_fc_->forward(embedding) : embedding;
}

void MaxVit::reset_classifier(int64_t num_classes) {
  if (num_classes < 0) throw std::invalid_argument("model '" + spec_.name + "': num_classes must be >= 0");
  if (head_fc_) head_->unregister_module("fc");
  head_fc_ = nullptr;
  spec_.num_classes = num_classes;
  if (num_classes == 0) return;
  head_fc_ = head_->register_module("fc", Linear(config_.head_hidden_size, num_classes));
  timm_init::torch_default(timm_init::linear_layer("head.fc", head_fc_->weight, head_fc_->bias));
  head_fc_->to(head_norm_->weight.device(), head_norm_->weight.scalar_type());
}

// timm's MaxxVit with weight_init 'vit_eff' (the _tf_ configs): named_apply calls the init_weights
// of the stem and of every block, so convolutions (stem, MBConv incl. squeeze-excite and shortcut)
// get the efficientnet-like fan-out normal with zero bias, the attention Linears Xavier-uniform
// with zero bias except the MLP's (normal 1e-6), relative-position tables normal(.02); the
// NormMlp head keeps PyTorch's Linear default, norms their 1/0 and BatchNorm statistics reset.
void MaxVit::init_weights() {
  at::NoGradGuard no_grad;
  timm_init::ParallelInit parallel;
  for (const auto& layer : timm_init::layers(*this)) {
    const std::string& name = layer.name;
    auto attn = name.find(".attn_block.");
    if (attn == std::string::npos) attn = name.find(".attn_grid.");
    if (name.rfind("head.", 0) == 0) {
      timm_init::torch_default(layer);
    } else if (layer.conv) {
      timm_init::fan_out_normal(layer);
      timm_init::zero_bias(layer);
    } else if (attn != std::string::npos && name.find(".mlp.", attn) != std::string::npos) {
      timm_init::xavier_uniform(layer);
      if (layer.bias.defined()) timm_init::normal(layer.bias, 0.0, 1e-6);
    } else {
      timm_init::xavier_uniform(layer);
      timm_init::zero_bias(layer);
    }
  }
  timm_init::reset_layer_norms(*this);
  for (const auto& m : modules(/*include_self=*/false)) {
    if (auto* bn = dynamic_cast<MaxVitBatchNormActImpl*>(m.get())) {
      bn->weight.fill_(1.0);
      bn->bias.zero_();
      bn->running_mean.zero_();
      bn->running_var.fill_(1.0);
      bn->num_batches_tracked.zero_();
    } else if (auto* rel = dynamic_cast<MaxVitRelPosBiasImpl*>(m.get())) {
      timm_init::normal(rel->relative_position_bias_table, 0.0, 0.02);
    }
  }
  parallel.run();
}

void MaxVit::set_grad_checkpointing(bool enabled) {
  for (auto& stage : stages_) stage->grad_checkpointing = enabled;
}

}  // namespace wildreid::models

// Registry entries of the MaxViT `_tf_` family (timm names with their default pretrained tags)
// and the timm create_model kwargs they accept as overrides (base kwargs plus transformer_*/conv_*
// ones, as timm's _overlay_kwargs splits them). Mean/std follow each timm pretrained config: the
// in1k 224 weights use ImageNet's, the in21k_ft_in1k 384 weights 0.5/0.5.
#include "models/arch_overrides.h"
#include "models/families.h"
#include "models/maxvit.h"
#include "models/registry.h"

namespace wildreid::models {
namespace {


std::shared_ptr<Backbone> make_maxvit(const ModelSpec& spec, MaxVitConfig config, const ModelOptions& options) {
  ArchOverrides overrides(options.arch_overrides, spec.name);
  overrides.read("img_size", config.img_size);
  overrides.read("in_chans", config.in_chans);
  overrides.read("embed_dim", config.embed_dim);
  overrides.read("depths", config.depths);
  overrides.read("stem_width", config.stem_width);
  overrides.read("stem_bias", config.stem_bias);
  overrides.read("head_hidden_size", config.head_hidden_size);
  overrides.read("transformer_dim_head", config.dim_head);
  overrides.read("transformer_expand_ratio", config.mlp_ratio);
  overrides.read("transformer_partition_ratio", config.partition_ratio);
  overrides.read("conv_expand_ratio", config.conv_expand_ratio);
  overrides.read("conv_attn_ratio", config.se_ratio);
  overrides.finish();
  if (options.img_size > 0) config.img_size = options.img_size;
  return std::make_shared<MaxVit>(spec, config, options);
}

void add(Registry& r, const std::string& name, const std::vector<double>& mean, const std::vector<double>& std,
         const MaxVitConfig& config) {
  ModelSpec spec{.name = name, .family = "maxvit", .input_size = config.img_size, .mean = mean, .std = std,
                 .embed_dim = config.embedding_dim()};
  r.add(spec, [config](const ModelSpec& s, const ModelOptions& o) { return make_maxvit(s, config, o); });
}

}  // namespace

void register_maxvit_models(Registry& r) {
  add(r, "maxvit_tiny_tf_224.in1k", kImagenetMean, kImagenetStd,
      {.img_size = 224, .embed_dim = {64, 128, 256, 512}, .depths = {2, 2, 5, 2}, .stem_width = 64, .head_hidden_size = 512});
  add(r, "maxvit_base_tf_384.in21k_ft_in1k", kHalfMeanStd, kHalfMeanStd,
      {.img_size = 384, .embed_dim = {96, 192, 384, 768}, .depths = {2, 6, 14, 2}, .stem_width = 64, .head_hidden_size = 768});
  // 475.32M parameters with 1000 classes, 1536-d embedding.
  add(r, "maxvit_xlarge_tf_384.in21k_ft_in1k", kHalfMeanStd, kHalfMeanStd,
      {.img_size = 384, .embed_dim = {192, 384, 768, 1536}, .depths = {2, 6, 14, 2}, .stem_width = 192,
       .head_hidden_size = 1536});
}

}  // namespace wildreid::models

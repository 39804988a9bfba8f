// Registry entries of the Swin family (timm names with their default pretrained tags) and the
// timm create_model kwargs a Swin accepts as architecture overrides. Swin normalises with the
// ImageNet mean/std; the embedding is the last stage's width.
#include <stdexcept>

#include "models/arch_overrides.h"
#include "models/families.h"
#include "models/registry.h"
#include "models/swin_transformer.h"

namespace wildreid::models {
namespace {


std::shared_ptr<Backbone> make_swin(const ModelSpec& spec, SwinConfig config, const ModelOptions& options) {
  ArchOverrides overrides(options.arch_overrides, spec.name);
  overrides.read("img_size", config.img_size);
  overrides.read("patch_size", config.patch_size);
  overrides.read("in_chans", config.in_chans);
  overrides.read("embed_dim", config.embed_dim);
  overrides.read("depths", config.depths);
  overrides.read("num_heads", config.num_heads);
  overrides.read("window_size", config.window_size);
  overrides.read("mlp_ratio", config.mlp_ratio);
  overrides.read("qkv_bias", config.qkv_bias);
  overrides.finish();
  if (options.img_size > 0) config.img_size = options.img_size;
  return std::make_shared<SwinTransformer>(spec, config, options);
}

void add(Registry& r, const std::string& name, const SwinConfig& config) {
  ModelSpec spec{.name = name, .family = "swin", .input_size = config.img_size, .mean = kImagenetMean,
                 .std = kImagenetStd, .embed_dim = config.num_features()};
  r.add(spec, [config](const ModelSpec& s, const ModelOptions& o) { return make_swin(s, config, o); });
}

}  // namespace

void register_swin_models(Registry& r) {
  add(r, "swin_tiny_patch4_window7_224.ms_in1k",
      {.img_size = 224, .embed_dim = 96, .depths = {2, 2, 6, 2}, .num_heads = {3, 6, 12, 24}, .window_size = 7});
  add(r, "swin_base_patch4_window12_384.ms_in22k_ft_in1k",
      {.img_size = 384, .embed_dim = 128, .depths = {2, 2, 18, 2}, .num_heads = {4, 8, 16, 32}, .window_size = 12});
  // MegaDescriptor-L-384's backbone: 196.74M parameters with 1000 classes, 1536-d embedding.
  add(r, "swin_large_patch4_window12_384.ms_in22k_ft_in1k",
      {.img_size = 384, .embed_dim = 192, .depths = {2, 2, 18, 2}, .num_heads = {6, 12, 24, 48}, .window_size = 12});
}

}  // namespace wildreid::models

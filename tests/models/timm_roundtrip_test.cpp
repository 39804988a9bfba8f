// Export round trip through Python timm: a C++ model with random weights is exported as
// safetensors, then tests/models/timm_roundtrip.py (run with $WILDREID_PYTHON, else the configured
// interpreter) loads it with timm.create_model(..., pretrained=True, pretrained_cfg_overlay=
// dict(file=...)) and must reproduce the C++ features/embedding/logits within 1e-4.
#include <ATen/ATen.h>
#include <gtest/gtest.h>


#include "models/registry.h"
#include "tests/models/parity_util.h"

using namespace wildreid;

namespace {

void round_trip(const std::string& name, const std::string& overrides, int64_t num_classes, int64_t size) {
  at::manual_seed(11);
  models::ModelOptions o;
  o.num_classes = num_classes;
  o.arch_overrides = overrides;
  auto model = models::create_model(name, o);
  {
    at::NoGradGuard ng;  // move every weight off its init value (layer-scale gammas start at 1e-6)
    for (auto& p : model->parameters()) p.add_(at::randn_like(p) * 0.05);
  }
  wildreid::testing::expect_timm_reproduces(*model, name, overrides, num_classes, at::randn({2, 3, size, size}));
}

}  // namespace

TEST(TimmRoundTrip, ConvNeXt) {
  round_trip("convnext_atto", R"({"depths": [1, 1, 2, 1], "dims": [16, 24, 32, 48]})", 6, 64);
}

TEST(TimmRoundTrip, ViT) {
  round_trip("vit_small_patch16_224", R"({"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 3})", 4, 32);
}

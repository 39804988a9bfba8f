// Export round trip through Python timm for Swin and MaxViT: a C++ model with random weights (and,
// for MaxViT, random BatchNorm statistics) is exported with models::export_backbone, then
// tests/models/timm_roundtrip.py loads it with timm.create_model(..., pretrained=True,
// pretrained_cfg_overlay=dict(file=...)) (strict) and must reproduce the C++ outputs within 1e-4.
// Swin is exported from a model that loaded an OLD-layout file, so the test also proves that a
// MegaDescriptor-style checkpoint leaves in the current layout timm loads.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "checkpoints/safetensors.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "tests/models/parity_util.h"

using namespace wildreid;

namespace {

using wildreid::testing::expect_timm_reproduces;

}  // namespace

TEST(SwinTimmRoundTrip, OldLayoutFileExportsAsCurrentLayout) {
  auto f = wildreid::testing::load_model_fixture("swin_micro_legacy");
  auto model = wildreid::testing::load_fixture_model(f);
  {
    at::NoGradGuard no_grad;  // weights unlike the fixture's, so timm cannot pass by loading something else
    at::manual_seed(5);
    for (auto& p : model->parameters()) p.add_(at::randn_like(p) * 0.05);
  }
  expect_timm_reproduces(*model, f.timm_name, f.arch_overrides, f.num_classes, f.io.at("input"));
}

TEST(MaxVitTimmRoundTrip, ExportLoadsIntoTimm) {
  const std::string name = "maxvit_tiny_tf_224";
  const std::string overrides = R"({"img_size": 64, "embed_dim": [16, 24, 24, 32], "depths": [1, 2, 1, 1],)"
                                R"( "stem_width": 8, "head_hidden_size": 24, "transformer_dim_head": 8})";
  at::manual_seed(11);
  models::ModelOptions o;
  o.num_classes = 6;
  o.arch_overrides = overrides;
  auto model = models::create_model(name, o);
  {
    at::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(at::randn_like(p) * 0.05);
    for (auto& b : model->named_buffers()) {
      if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0.0, 0.2);
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
    }
  }
  expect_timm_reproduces(*model, name, overrides, 6, at::randn({2, 3, 64, 64}));
}

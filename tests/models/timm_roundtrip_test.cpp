// Export round trip through Python timm: a C++ model with random weights is exported as
// safetensors, then tests/models/timm_roundtrip.py (run with $WILDREID_PYTHON, else the configured
// interpreter) loads it with timm.create_model(..., pretrained=True, pretrained_cfg_overlay=
// dict(file=...)) and must reproduce the C++ features/embedding/logits within 1e-4.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "checkpoints/safetensors.h"
#include "models/model_weights.h"
#include "models/registry.h"

using namespace wildreid;
namespace fs = std::filesystem;

namespace {

std::string python() {
  const char* env = std::getenv("WILDREID_PYTHON");
  return env && *env ? env : WILDREID_PYTHON_DEFAULT;
}

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
  model->eval();
  at::Tensor x = at::randn({2, 3, size, size});
  at::NoGradGuard ng;
  at::Tensor features = model->forward_features(x);
  at::Tensor embedding = model->forward_embedding(features);
  at::Tensor logits = model->forward_classifier(embedding);
  fs::path dir = fs::temp_directory_path() / ("wildreid_rt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path weights = dir / (name + ".safetensors"), io = dir / (name + ".io.safetensors");
  models::export_backbone(*model, weights);
  checkpoints::save_safetensors(io, {{"input", x}, {"features", features}, {"embedding", embedding}, {"logits", logits}},
                                {{"timm_name", name}, {"arch_overrides", overrides},
                                 {"num_classes", std::to_string(num_classes)}});
  std::string cmd = "'" + python() + "' '" WILDREID_SOURCE_DIR "/tests/models/timm_roundtrip.py' --weights '" +
                    weights.string() + "' --io '" + io.string() + "'";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  // POSIX calls: libtorch.so exports its own std::filesystem::remove_all, which crashes here.
  ::unlink(weights.c_str());
  ::unlink(io.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace

TEST(TimmRoundTrip, ConvNeXt) {
  round_trip("convnext_atto", R"({"depths": [1, 1, 2, 1], "dims": [16, 24, 32, 48]})", 6, 64);
}

TEST(TimmRoundTrip, ViT) {
  round_trip("vit_small_patch16_224", R"({"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 3})", 4, 32);
}

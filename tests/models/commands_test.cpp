// `trainer models` and `trainer forward` end to end: the listing shows timm's parameter counts,
// `forward` on a timm fixture reproduces timm's outputs, and bad weights exit non-zero with the
// file named. Runs the trainer binary from $WILDREID_BIN (set by CTest).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "checkpoints/safetensors.h"
#include "tests/models/parity_util.h"

namespace {

std::string trainer() {
  const char* bin = std::getenv("WILDREID_BIN");
  return std::string(bin && *bin ? bin : WILDREID_BIN_DEFAULT) + "/trainer";
}

std::string temp_path(const std::string& name) {
  return "/tmp/wildreid_cmd_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

TEST(Commands, ModelsListsTimmParameterCounts) {
  auto [rc, out] = wildreid::testing::run_shell(trainer() + " models");
  ASSERT_EQ(rc, 0) << out;
  for (const char* line_part : {"convnext_xlarge.fb_in22k_ft_in1k_384", "350.20M", "vit_large_patch16_384", "304.72M"})
    EXPECT_NE(out.find(line_part), std::string::npos) << line_part << " missing from:\n" << out;
}

TEST(Commands, ForwardReproducesTimmOutputs) {
  auto f = wildreid::testing::load_model_fixture("convnext_atto_tiny");
  const auto dir = wildreid::testing::model_fixture_dir();
  std::string out = temp_path("forward.safetensors");
  std::string cmd = trainer() + " forward --arch " + f.timm_name + " --arch-overrides '" + f.arch_overrides +
                    "' --weights " + f.weights.string() + " --input " +
                    (dir / "convnext_atto_tiny.io.safetensors").string() + " --output " + out;
  auto [rc, log] = wildreid::testing::run_shell(cmd);
  ASSERT_EQ(rc, 0) << cmd << "\n" << log;
  auto got = wildreid::checkpoints::load_safetensors(out);
  for (const char* key : {"features", "embedding", "logits"}) {
    ASSERT_TRUE(got.count(key)) << key;
    EXPECT_LE((got.at(key) - f.io.at(key)).abs().max().item<double>(), 1e-4) << key;
  }
  ::unlink(out.c_str());
}

TEST(Commands, ForwardNamesBadWeightsFile) {
  std::string bad = temp_path("bad.safetensors");
  std::ofstream(bad, std::ios::binary) << std::string("\x10\x00\x00\x00\x00\x00\x00\x00{\"w\":1}", 15);
  auto [rc, log] = wildreid::testing::run_shell(trainer() + " forward --arch convnext_atto --weights " + bad + " --input " + bad +
                       " --output " + temp_path("never.safetensors"));
  EXPECT_NE(rc, 0);
  EXPECT_NE(log.find(bad), std::string::npos) << log;
  EXPECT_EQ(::access(temp_path("never.safetensors").c_str(), F_OK), -1);
  ::unlink(bad.c_str());
}

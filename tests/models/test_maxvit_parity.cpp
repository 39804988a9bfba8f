// MaxViT `_tf_` vs timm (fixtures from tools/make_timm_fixtures.py): maxvit_tiny_tf_224's block
// types shrunk (widths 16..32, dim_head 8) at 96x96, so windows and grids are 3x3, every stride-2
// conv pads asymmetrically ('same'), and shortcuts both keep and change the width. BatchNorm
// running statistics are randomised in the fixture so inference-mode BN is exercised.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/models/parity_util.h"

namespace {
// Prints the max abs differences (the figures the report quotes), then checks them.
void check(const std::string& fixture) {
  const auto r = wildreid::testing::run_timm_parity(fixture);
  std::printf("%s: max abs diff vs timm: features %.3g, embedding %.3g, logits %.3g\n", fixture.c_str(),
              r.features, r.embedding, r.logits);
  EXPECT_LE(r.features, 1e-4) << fixture << " features";
  EXPECT_LE(r.embedding, 1e-4) << fixture << " embedding";
  EXPECT_LE(r.logits, 1e-4) << fixture << " logits";
}
}  // namespace

TEST(MaxVitParity, TinyTfBlocksAtSmallResolution) { check("maxvit_tiny_tf_micro"); }

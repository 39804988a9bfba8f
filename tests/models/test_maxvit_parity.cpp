// MaxViT `_tf_` vs timm (fixtures from tools/make_timm_fixtures.py): maxvit_tiny_tf_224's block
// types shrunk (widths 16..32, dim_head 8) at 96x96, so windows and grids are 3x3, every stride-2
// conv pads asymmetrically ('same'), and shortcuts both keep and change the width. BatchNorm
// running statistics are randomised in the fixture so inference-mode BN is exercised.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/models/parity_util.h"

namespace {
void check(const std::string& fixture) { wildreid::testing::expect_timm_parity(fixture); }
}  // namespace

TEST(MaxVitParity, TinyTfBlocksAtSmallResolution) { check("maxvit_tiny_tf_micro"); }

// Swin vs timm (fixtures from tools/make_timm_fixtures.py): a 3-stage Swin on 56x56 input with
// window 4, so stage 0 (14x14) and stage 1 (7x7) use shifted windows on padded maps and stage 2
// (3x3) clamps its window and drops the shift; plus the same weights in timm's old (<= 0.9.5)
// key layout with persisted index/mask buffers, as the MegaDescriptor-L-384 file has them.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/models/parity_util.h"

namespace {
void check(const std::string& fixture) { wildreid::testing::expect_timm_parity(fixture); }
}  // namespace

TEST(SwinParity, ShiftedPaddedAndClampedWindows) { check("swin_micro"); }
TEST(SwinParity, OldTimmLayoutLoadsAndMatches) { check("swin_micro_legacy"); }
// Training's attention (spelled out while autograd records, see swin_attention.cpp) matches too.
TEST(SwinParity, GradRecordingPathMatches) {
  wildreid::testing::expect_timm_parity("swin_micro", 1e-4, /*record_gradients=*/true);
}

// features / embedding / logits of the C++ models vs timm (fixtures from tools/make_timm_fixtures.py).
#include <gtest/gtest.h>

#include "tests/models/parity_util.h"

using wildreid::testing::expect_timm_parity;

TEST(TimmParity, ConvNeXtAttoBlocks) { expect_timm_parity("convnext_atto_tiny"); }
TEST(TimmParity, ConvNeXtTinyBlocks) { expect_timm_parity("convnext_tiny_tiny"); }
TEST(TimmParity, ViT) { expect_timm_parity("vit_tiny"); }

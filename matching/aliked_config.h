// The ALIKED variants kornia 0.9 ships (and the published checkpoints of Shiaoming/ALIKED are for):
// channel widths of the four backbone stages, descriptor width, the descriptor head's patch size K
// and number of deformable sampling positions M. aliked-n16rot shares n16's shape (different
// weights, trained for rotation). All use deformable convolutions in stages 3 and 4.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wildreid::matching {

struct AlikedVariant {
  std::string name;
  int64_t c1, c2, c3, c4, dim, patch, positions;
};

// Throws std::invalid_argument listing the known names for an unknown one.
const AlikedVariant& aliked_variant(const std::string& name);
std::vector<std::string> aliked_variant_names();

}  // namespace wildreid::matching

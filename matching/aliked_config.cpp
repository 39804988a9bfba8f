// See aliked_config.h. Values as kornia/feature/aliked/aliked.py _ALIKED_CFGS (kornia 0.9.0).
#include "matching/aliked_config.h"

#include <stdexcept>

namespace wildreid::matching {
namespace {

const std::vector<AlikedVariant>& variants() {
  static const std::vector<AlikedVariant> table = {
      {"aliked-t16", 8, 16, 32, 64, 64, 3, 16},
      {"aliked-n16", 16, 32, 64, 128, 128, 3, 16},
      {"aliked-n16rot", 16, 32, 64, 128, 128, 3, 16},
      {"aliked-n32", 16, 32, 64, 128, 128, 3, 32},
  };
  return table;
}

}  // namespace

const AlikedVariant& aliked_variant(const std::string& name) {
  for (const auto& v : variants())
    if (v.name == name) return v;
  std::string known;
  for (const auto& n : aliked_variant_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown ALIKED variant '" + name + "' (known: " + known + ")");
}

std::vector<std::string> aliked_variant_names() {
  std::vector<std::string> names;
  for (const auto& v : variants()) names.push_back(v.name);
  return names;
}

}  // namespace wildreid::matching

// See kornia_oracle.h.
#include "tests/matching/kornia_oracle.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "checkpoints/safetensors.h"
#include "data/remove_tree.h"

namespace wildreid::testing {
namespace {

struct FixtureDir {
  std::filesystem::path path;
  FixtureDir() {
    const char* env = std::getenv("WILDREID_PYTHON");
    const std::string python = env && *env ? env : WILDREID_PYTHON_DEFAULT;
    path = std::filesystem::temp_directory_path() / ("wildreid_kornia_" + std::to_string(::getpid()));
    const std::string cmd = "'" + python + "' '" WILDREID_SOURCE_DIR "/tools/kornia_matching_oracle.py' all --out '" +
                            path.string() + "' > '" + path.string() + ".log' 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("kornia oracle failed (see " + path.string() + ".log): " + cmd);
    ::unlink((path.string() + ".log").c_str());
  }
  ~FixtureDir() { data::remove_tree(path); }
};

}  // namespace

const std::filesystem::path& kornia_fixtures() {
  static FixtureDir dir;
  return dir.path;
}

OracleCase load_oracle_case(const std::string& name, const std::string& stem) {
  const auto dir = kornia_fixtures() / name;
  OracleCase c;
  checkpoints::SafetensorsFile io(dir / (stem + "_io.safetensors"));
  c.metadata = io.metadata();
  for (auto& [k, v] : io.tensors()) c.io[k] = v.clone();
  c.weights = dir / (stem + ".safetensors");
  c.weights_pth = dir / (stem + ".pth");
  return c;
}

double max_abs_diff(const std::string& what, const at::Tensor& ours, const at::Tensor& theirs) {
  if (ours.sizes() != theirs.sizes())
    throw std::runtime_error(what + ": shape " + c10::str(ours.sizes()) + " vs kornia " + c10::str(theirs.sizes()));
  if (ours.numel() == 0) return 0;
  return (ours.to(at::kDouble) - theirs.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace wildreid::testing

// The kornia fixtures of the matching tests, made once per test binary by
// tools/kornia_matching_oracle.py (`all`) in a temporary folder with the project's Python
// ($WILDREID_PYTHON, else the interpreter CMake found torch with), and removed at exit.
#pragma once
#include <ATen/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace wildreid::testing {

// Folder holding one subfolder per oracle case (aliked-n16, lightglue-aliked, ...). Generated on
// first call; throws with the command line when the oracle fails.
const std::filesystem::path& kornia_fixtures();

struct OracleCase {
  std::map<std::string, at::Tensor> io;          // <stem>_io.safetensors
  std::map<std::string, std::string> metadata;
  std::filesystem::path weights;                 // <stem>.safetensors
  std::filesystem::path weights_pth;             // <stem>.pth (torch.save)
};
// stem: "aliked" or "lightglue".
OracleCase load_oracle_case(const std::string& name, const std::string& stem);

// Largest absolute difference; throws naming `what` when the shapes differ.
double max_abs_diff(const std::string& what, const at::Tensor& ours, const at::Tensor& theirs);

}  // namespace wildreid::testing

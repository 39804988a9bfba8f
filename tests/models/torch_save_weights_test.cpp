// torch.save weights (`pytorch_model.bin`, `.pth`) read by checkpoints::read_weights_file give the
// same tensors and the same model outputs as the safetensors file of the same weights, through
// every loader (the library call, `trainer forward`), including the old timm Swin layout that
// MegaDescriptor-L-384 ships in; the legacy format, a truncated file and a pickle that is not a
// state dict are refused naming the file. The torch.save files are written by Python torch
// (tests/models/torch_save_fixtures.py, run with $WILDREID_PYTHON) from the committed fixtures.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "checkpoints/safetensors.h"
#include "checkpoints/weights_file.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "tests/models/parity_util.h"

using namespace wildreid;
namespace fs = std::filesystem;

namespace {

std::string trainer() {
  const char* bin = std::getenv("WILDREID_BIN");
  return std::string(bin && *bin ? bin : WILDREID_BIN_DEFAULT) + "/trainer";
}

using wildreid::testing::error_of;
using wildreid::testing::run_shell;

// The torch.save forms of one fixture's weights, written once per fixture by Python.
class TorchSaveFiles {
 public:
  explicit TorchSaveFiles(const std::string& fixture) : fixture_(wildreid::testing::load_model_fixture(fixture)) {
    dir_ = fs::temp_directory_path() / ("wildreid_torchsave_" + std::to_string(::getpid()) + "_" + fixture);
    const std::string cmd = "'" + wildreid::testing::python_interpreter() +
                            "' '" WILDREID_SOURCE_DIR "/tests/models/torch_save_fixtures.py' --weights '" +
                            fixture_.weights.string() + "' --out '" + dir_.string() + "'";
    auto [rc, log] = run_shell(cmd);
    if (rc != 0) throw std::runtime_error(cmd + " failed:\n" + log);
  }
  ~TorchSaveFiles() {
    for (const auto& entry : fs::directory_iterator(dir_)) ::unlink(entry.path().c_str());
    ::rmdir(dir_.c_str());
  }
  fs::path operator[](const std::string& name) const { return dir_ / name; }
  const wildreid::testing::ModelFixture& fixture() const { return fixture_; }

 private:
  wildreid::testing::ModelFixture fixture_;
  fs::path dir_;
};

void expect_same_tensors(const std::map<std::string, at::Tensor>& got, const std::map<std::string, at::Tensor>& want,
                         const std::string& what, at::ScalarType float_dtype = at::kFloat) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const auto& [name, tensor] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << what << " lacks " << name;
    const at::Tensor expected = tensor.is_floating_point() ? tensor.to(float_dtype) : tensor;
    EXPECT_EQ(it->second.scalar_type(), expected.scalar_type()) << what << " " << name;
    EXPECT_TRUE(at::equal(it->second, expected)) << what << " " << name;
  }
}

std::shared_ptr<models::Backbone> loaded_model(const wildreid::testing::ModelFixture& f, const fs::path& weights) {
  auto model = wildreid::testing::create_fixture_model(f);
  models::load_backbone_weights(*model, weights);
  model->eval();
  return model;
}

// Every torch.save form gives the safetensors tensors, and a model loaded from it gives exactly
// the outputs of one loaded from the safetensors file.
void expect_torch_save_matches_safetensors(const std::string& fixture) {
  TorchSaveFiles files(fixture);
  const auto& f = files.fixture();
  const auto reference = checkpoints::load_safetensors(f.weights);
  at::NoGradGuard no_grad;
  const at::Tensor want = loaded_model(f, f.weights)->forward(f.io.at("input"));
  for (const char* name : {"plain.bin", "wrapped.pth", "ddp.pth"}) {
    SCOPED_TRACE(fixture + " " + name);
    expect_same_tensors(checkpoints::read_weights_file(files[name]), reference, name);
    EXPECT_TRUE(at::equal(loaded_model(f, files[name])->forward(f.io.at("input")), want));
  }
  expect_same_tensors(checkpoints::read_weights_file(files["half.bin"]), reference, "half.bin", at::kBFloat16);
  // bf16 weights are widened to the model's fp32 on load: close to, not equal to, the fp32 outputs.
  const at::Tensor half = loaded_model(f, files["half.bin"])->forward(f.io.at("input"));
  EXPECT_LT((half - want).abs().max().item<double>(), 0.05 * want.abs().max().item<double>());
}

}  // namespace

TEST(TorchSaveWeights, ConvNeXtBinAndPthMatchSafetensors) { expect_torch_save_matches_safetensors("convnext_atto_tiny"); }

// The MegaDescriptor case: an old-layout timm Swin state dict, published as pytorch_model.bin.
TEST(TorchSaveWeights, OldLayoutSwinBinMatchesSafetensors) { expect_torch_save_matches_safetensors("swin_micro_legacy"); }

TEST(TorchSaveWeights, BadFilesAreNamed) {
  TorchSaveFiles files("convnext_atto_tiny");
  std::string err = error_of([&] { checkpoints::read_weights_file(files["legacy.pth"]); });
  EXPECT_NE(err.find(files["legacy.pth"].string()), std::string::npos) << err;
  EXPECT_NE(err.find("legacy torch.save format"), std::string::npos) << err;

  err = error_of([&] { checkpoints::read_weights_file(files["list.pth"]); });
  EXPECT_NE(err.find(files["list.pth"].string()), std::string::npos) << err;
  EXPECT_NE(err.find("not a state dict"), std::string::npos) << err;

  // A download cut short: the first half of a pytorch_model.bin.
  std::vector<char> bytes(fs::file_size(files["plain.bin"]));
  std::ifstream(files["plain.bin"], std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(files["truncated.bin"], std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  err = error_of([&] { checkpoints::read_weights_file(files["truncated.bin"]); });
  EXPECT_NE(err.find(files["truncated.bin"].string()), std::string::npos) << err;
  EXPECT_NE(err.find("cannot read torch.save file"), std::string::npos) << err;
}

// `trainer forward` takes the .bin directly and reproduces timm's outputs.
TEST(TorchSaveWeights, ForwardCommandReadsBin) {
  TorchSaveFiles files("convnext_atto_tiny");
  const auto& f = files.fixture();
  const fs::path out = files["forward.safetensors"];
  const std::string cmd = trainer() + " forward --arch " + f.timm_name + " --arch-overrides '" + f.arch_overrides +
                          "' --weights " + files["plain.bin"].string() + " --input " +
                          (wildreid::testing::model_fixture_dir() / "convnext_atto_tiny.io.safetensors").string() +
                          " --output " + out.string();
  auto [rc, log] = run_shell(cmd);
  ASSERT_EQ(rc, 0) << cmd << "\n" << log;
  auto got = checkpoints::load_safetensors(out);
  for (const char* key : {"features", "embedding", "logits"})
    EXPECT_LE((got.at(key) - f.io.at(key)).abs().max().item<double>(), 1e-4) << key;
}

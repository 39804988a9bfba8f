// Parity against timm fixtures (tools/make_timm_fixtures.py): builds the fixture's model from the
// registry with the fixture's architecture overrides, loads its weights strictly, runs
// features/embedding/logits in fp32 eval mode and returns the max abs difference of each against
// timm's outputs. Families add a parity test with one call: expect_timm_parity("<fixture name>").
#pragma once
#include <ATen/Tensor.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <utility>

#include "models/backbone.h"

namespace wildreid::testing {

// Folder of the committed fixtures (tests/fixtures/models in the source tree).
std::filesystem::path model_fixture_dir();

struct ModelFixture {
  std::string timm_name;
  std::string arch_overrides;  // JSON kwargs
  int64_t num_classes = 0;
  std::filesystem::path weights;
  std::map<std::string, at::Tensor> io;  // input, features, embedding, logits
};
ModelFixture load_model_fixture(const std::string& name);

// The fixture's architecture from the registry: `options` with the fixture's classifier width and
// architecture overrides and no initialisation (weights come from a file next). load_fixture_model
// also loads the fixture's weights strictly.
std::shared_ptr<models::Backbone> create_fixture_model(const ModelFixture& f, models::ModelOptions options = {});
std::shared_ptr<models::Backbone> load_fixture_model(const ModelFixture& f, models::ModelOptions options = {});

struct ParityResult {
  double features = 0, embedding = 0, logits = 0;  // max abs difference vs timm
};
// Throws on shape mismatch (naming the output) or load problems. `record_gradients` runs the
// forward with autograd on and an input that requires grad: the path training takes, where
// attention is spelled out instead of going through scaled_dot_product_attention.
ParityResult run_timm_parity(const std::string& fixture_name, bool record_gradients = false);

// gtest assertions: each output within `tolerance` max abs of timm's.
void expect_timm_parity(const std::string& fixture_name, double tolerance = 1e-4, bool record_gradients = false);

// The Python interpreter with timm ($WILDREID_PYTHON, else the one CMake found torch with) and the
// source tree, for tests that run an oracle script from tools/ or tests/.
std::string python_interpreter();
std::filesystem::path source_dir();
// Runs `python tools/SCRIPT args...` and returns its stdout; a gtest failure (and "") when it exits
// non-zero. Arguments are single-quoted for the shell.
std::string run_python_oracle(const std::string& script, const std::vector<std::string>& args);

// Exports `model`, runs it on `x`, and has Python timm ($WILDREID_PYTHON, else the interpreter
// CMake found torch with) reload the file through tests/models/timm_roundtrip.py and reproduce
// the outputs: a gtest failure naming the command otherwise.
void expect_timm_reproduces(models::Backbone& model, const std::string& timm_name, const std::string& overrides,
                            int64_t num_classes, const at::Tensor& x);

// Runs a shell command with stderr merged into stdout; returns the exit status and the output.
std::pair<int, std::string> run_shell(const std::string& command);

// The what() of the exception `fn` throws; empty when it throws none.
std::string error_of(const std::function<void()>& fn);

}  // namespace wildreid::testing

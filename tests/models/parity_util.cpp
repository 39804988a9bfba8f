// Fixture loading and parity comparison (see parity_util.h).
#include "tests/models/parity_util.h"

#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "checkpoints/safetensors.h"
#include "models/model_weights.h"
#include "models/registry.h"

namespace wildreid::testing {

std::filesystem::path model_fixture_dir() {
  return std::filesystem::path(WILDREID_SOURCE_DIR) / "tests" / "fixtures" / "models";
}

ModelFixture load_model_fixture(const std::string& name) {
  ModelFixture f;
  const auto dir = model_fixture_dir();
  checkpoints::SafetensorsFile io(dir / (name + ".io.safetensors"));
  const auto& meta = io.metadata();
  auto get = [&](const std::string& key) {
    auto it = meta.find(key);
    if (it == meta.end()) throw std::runtime_error("fixture '" + name + "': metadata lacks '" + key + "'");
    return it->second;
  };
  f.timm_name = get("timm_name");
  f.arch_overrides = get("arch_overrides");
  f.num_classes = std::stoll(get("num_classes"));
  f.weights = dir / (name + ".weights.safetensors");
  for (auto& [k, v] : io.tensors()) f.io[k] = v.clone();
  return f;
}

namespace {
double max_abs_diff(const std::string& what, const at::Tensor& ours, const at::Tensor& theirs) {
  if (ours.sizes() != theirs.sizes())
    throw std::runtime_error(what + ": shape " + c10::str(ours.sizes()) + " vs timm " + c10::str(theirs.sizes()));
  return (ours.to(at::kFloat) - theirs.to(at::kFloat)).abs().max().item<double>();
}
}  // namespace

std::shared_ptr<models::Backbone> create_fixture_model(const ModelFixture& f, models::ModelOptions options) {
  options.num_classes = f.num_classes;
  options.arch_overrides = f.arch_overrides;
  options.init_weights = false;
  return models::create_model(f.timm_name, options);
}

std::shared_ptr<models::Backbone> load_fixture_model(const ModelFixture& f, models::ModelOptions options) {
  auto model = create_fixture_model(f, std::move(options));
  models::load_backbone_weights(*model, f.weights);
  return model;
}

ParityResult run_timm_parity(const std::string& fixture_name, bool record_gradients) {
  ModelFixture f = load_model_fixture(fixture_name);
  auto model = load_fixture_model(f);
  model->eval();
  at::AutoGradMode grad_mode(record_gradients);
  at::Tensor input = f.io.at("input").clone().requires_grad_(record_gradients);
  at::Tensor features = model->forward_features(input);
  if (record_gradients && !features.requires_grad())
    throw std::runtime_error(fixture_name + ": features do not record gradients");
  at::Tensor embedding = model->forward_embedding(features);
  at::Tensor logits = model->forward_classifier(embedding);
  ParityResult r;
  r.features = max_abs_diff(fixture_name + " features", features, f.io.at("features"));
  r.embedding = max_abs_diff(fixture_name + " embedding", embedding, f.io.at("embedding"));
  r.logits = max_abs_diff(fixture_name + " logits", logits, f.io.at("logits"));
  return r;
}

void expect_timm_parity(const std::string& fixture_name, double tolerance, bool record_gradients) {
  ParityResult r = run_timm_parity(fixture_name, record_gradients);
  // Printed so reports can quote the figures, then checked.
  std::printf("%s%s: max abs diff vs timm: features %.3g, embedding %.3g, logits %.3g\n",
              fixture_name.c_str(), record_gradients ? " (recording gradients)" : "", r.features, r.embedding,
              r.logits);
  EXPECT_LE(r.features, tolerance) << fixture_name << " features";
  EXPECT_LE(r.embedding, tolerance) << fixture_name << " embedding";
  EXPECT_LE(r.logits, tolerance) << fixture_name << " logits";
}

std::string python_interpreter() {
  const char* env = std::getenv("WILDREID_PYTHON");
  return env && *env ? env : WILDREID_PYTHON_DEFAULT;
}

std::filesystem::path source_dir() { return WILDREID_SOURCE_DIR; }

std::string run_python_oracle(const std::string& script, const std::vector<std::string>& args) {
  auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string cmd = quote(python_interpreter()) + " " + quote((source_dir() / "tools" / script).string());
  for (const auto& a : args) cmd += " " + quote(a);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "cannot start " << cmd;
    return "";
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    ADD_FAILURE() << cmd << " exited with status " << status;
    return "";
  }
  return out;
}

void expect_timm_reproduces(models::Backbone& model, const std::string& timm_name, const std::string& overrides,
                            int64_t num_classes, const at::Tensor& x) {
  const std::string python = python_interpreter();
  model.eval();
  at::NoGradGuard no_grad;
  at::Tensor features = model.forward_features(x);
  at::Tensor embedding = model.forward_embedding(features);
  at::Tensor logits = model.forward_classifier(embedding);
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("wildreid_rt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto weights = dir / (timm_name + ".safetensors"), io = dir / (timm_name + ".io.safetensors");
  models::export_backbone(model, weights);
  checkpoints::save_safetensors(io, {{"input", x}, {"features", features}, {"embedding", embedding}, {"logits", logits}},
                                {{"timm_name", timm_name}, {"arch_overrides", overrides},
                                 {"num_classes", std::to_string(num_classes)}});
  std::string cmd = "'" + python + "' '" WILDREID_SOURCE_DIR "/tests/models/timm_roundtrip.py' --weights '" +
                    weights.string() + "' --io '" + io.string() + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  // POSIX calls: libtorch.so exports its own std::filesystem::remove_all, which crashes here.
  ::unlink(weights.c_str());
  ::unlink(io.c_str());
  ::rmdir(dir.c_str());
}

std::pair<int, std::string> run_shell(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buf[512];
  while (pipe && std::fgets(buf, sizeof(buf), pipe)) out += buf;
  const int status = pipe ? ::pclose(pipe) : -1;
  return {status, out};
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace wildreid::testing

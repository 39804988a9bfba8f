// Helpers shared by the data-core tests: a fresh temporary folder per test, running the real
// `trainer` binary (found through WILDREID_BIN, set by wildreid_add_test) with its exit code and
// output, small file helpers, and a cached small synthetic dataset so several tests share one synth.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/remove_tree.h"

namespace wildreid::data::testing {

namespace fs = std::filesystem;

inline fs::path make_temp_dir(const std::string& tag) {
  std::string pattern = (fs::temp_directory_path() / ("wildreid-" + tag + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = make_temp_dir(std::string(info->test_suite_name()) + "-" + info->name());
  }
  void TearDown() override {
    if (!HasFailure()) remove_tree(dir_);  // not fs::remove_all: see data/remove_tree.h
  }
  fs::path dir_;
};

struct RunResult {
  int exit_code = -1;   // -signal when killed by a signal
  std::string output;   // stdout and stderr together
};

inline fs::path trainer_binary() {
  const char* bin = std::getenv("WILDREID_BIN");
  return fs::path(bin ? bin : "build/bin") / "trainer";
}

// Runs a shell command line, capturing stdout+stderr.
inline RunResult run_command(const std::string& command) {
  RunResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_code = -WTERMSIG(status);
  return r;
}

inline RunResult run_trainer(const std::string& args) {
  return run_command("'" + trainer_binary().string() + "' " + args);
}

inline std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

inline std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

inline void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace wildreid::data::testing

// The command-line reading that the hand-parsed bench/ programs share: `--key value` pairs walked
// in order with a named error when a value is missing, and the Python interpreter their baselines
// run in. Each program keeps its own keys (its usage text says what they mean).
#pragma once
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace wildreid::bench {

// $WILDREID_PYTHON, else `configured` (the interpreter CMake found torch with).
inline std::string python_interpreter(const char* configured) {
  const char* env = std::getenv("WILDREID_PYTHON");
  return env && *env ? env : configured;
}

// for (ArgWalker args(argc, argv); args.next();) { if (args.key() == "--n") n = std::stoi(args.value()); }
class ArgWalker {
 public:
  ArgWalker(int argc, char** argv) : argc_(argc), argv_(argv) {}
  bool next() {
    if (++i_ >= argc_) return false;
    key_ = argv_[i_];
    return true;
  }
  const std::string& key() const { return key_; }
  std::string value() {  // the argument after the key; throws naming the key when there is none
    if (i_ + 1 >= argc_) throw std::runtime_error("option " + key_ + " needs a value");
    return argv_[++i_];
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string key_;
};

}  // namespace wildreid::bench

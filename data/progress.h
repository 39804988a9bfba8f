// Progress on stderr for long data commands (synth, pack, inspect): a redrawn bar when stderr is
// a terminal, otherwise one plain line every few seconds (logs, CI), plus a final line. Kept in
// data/ because data must not depend on monitoring/.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

namespace wildreid::data {

class Progress {
 public:
  Progress(std::string label, size_t total, bool quiet = false);
  void advance(size_t n = 1);  // call from one thread
  void finish();               // prints the final line (once)

 private:
  void print(bool final_line);
  std::string label_;
  size_t total_;
  size_t done_ = 0;
  bool quiet_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace wildreid::data

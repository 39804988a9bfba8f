// Rank 0's console report: one live line rewritten in place on a TTY, plain log lines otherwise
// (batch logs must stay readable). Formatting is separate from printing so it can be tested.
// A line never shows a made-up figure: before a throughput has been measured it says
// "warming up" instead of a rate, and a line without a known ETA leaves the ETA out.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace wildreid::monitoring {

struct ProgressSnapshot {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t total_steps = 0;        // 0 = unknown (no percentage or ETA)
  double images_per_second = -1;  // whole cluster; <= 0 or non-finite = not measured yet ("warming up")
  double loss = 0;
  double lr = 0;
  double eta_seconds = -1;        // < 0 or non-finite = unknown (no ETA field)
};

// "epoch 2 | step 120/1000 (12.0%) | 1234.5 img/s | loss 2.3456 | lr 1.000e-04 | ETA 0:12:34";
// before a rate exists: "epoch 0 | step 1/1000 (0.1%) | warming up | loss 6.9078 | lr 1.000e-06".
std::string format_progress(const ProgressSnapshot& p);
// H:MM:SS (hours unbounded); "?" for negative or non-finite input.
std::string format_duration(double seconds);

class ProgressPrinter {
 public:
  // live: rewrite one line with \r (TTY); otherwise print complete lines.
  ProgressPrinter(std::FILE* out, bool live) : out_(out), live_(live) {}
  void update(const ProgressSnapshot& p);   // live: redraws; plain: prints a line
  void message(const std::string& line);    // a line of its own, keeping the live line below
  void finish();                            // ends the live line with a newline

 private:
  std::FILE* out_;
  bool live_;
  bool line_open_ = false;
};

}  // namespace wildreid::monitoring

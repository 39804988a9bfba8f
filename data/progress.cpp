// Throttled printing: at most 10 redraws per second on a TTY, one line per 5 s otherwise.
#include "data/progress.h"

#include <unistd.h>

#include <cstdio>

namespace wildreid::data {

Progress::Progress(std::string label, size_t total, bool quiet)
    : label_(std::move(label)), total_(total), quiet_(quiet), tty_(::isatty(2) == 1),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

void Progress::advance(size_t n) {
  done_ += n;
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_print_ >= (tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000))) {
    last_print_ = now;
    print(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!quiet_) print(true);
}

void Progress::print(bool final_line) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  const double fraction = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %zu/%zu %.0f/s%s", label_.c_str(), bar.c_str(), done_, total_, rate,
                 final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s: %zu/%zu (%.0f%%) %.1f s, %.0f/s\n", label_.c_str(), done_, total_, fraction * 100.0,
                 seconds, rate);
  }
  std::fflush(stderr);
}

}  // namespace wildreid::data

// Progress formatting and the \r-based live line ("\033[K" clears what a longer line left).
#include "monitoring/progress.h"

#include <cmath>
#include <ctime>

namespace wildreid::monitoring {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<long long>(seconds + 0.5);
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60,
                total % 60);
  return buffer;
}

std::string format_progress(const ProgressSnapshot& p) {
  char buffer[256];
  std::string step;
  if (p.total_steps > 0) {
    std::snprintf(buffer, sizeof(buffer), "step %lld/%lld (%.1f%%)", static_cast<long long>(p.step),
                  static_cast<long long>(p.total_steps), 100.0 * p.step / p.total_steps);
  } else {
    std::snprintf(buffer, sizeof(buffer), "step %lld", static_cast<long long>(p.step));
  }
  step = buffer;
  std::string rate = "warming up";
  if (std::isfinite(p.images_per_second) && p.images_per_second > 0) {
    std::snprintf(buffer, sizeof(buffer), "%.1f img/s", p.images_per_second);
    rate = buffer;
  }
  std::snprintf(buffer, sizeof(buffer), "epoch %lld | %s | %s | loss %.4f | lr %.3e", static_cast<long long>(p.epoch),
                step.c_str(), rate.c_str(), p.loss, p.lr);
  std::string line = buffer;
  if (std::isfinite(p.eta_seconds) && p.eta_seconds >= 0) line += " | ETA " + format_duration(p.eta_seconds);
  return line;
}

void ProgressPrinter::update(const ProgressSnapshot& p) {
  std::string line = format_progress(p);
  if (live_) {
    std::fprintf(out_, "\r%s\033[K", line.c_str());
    line_open_ = true;
  } else {
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", std::gmtime(&now));
    std::fprintf(out_, "[%sZ] %s\n", stamp, line.c_str());
  }
  std::fflush(out_);
}

void ProgressPrinter::message(const std::string& line) {
  if (line_open_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", line.c_str());
  line_open_ = false;
  std::fflush(out_);
}

void ProgressPrinter::finish() {
  if (line_open_) std::fprintf(out_, "\n");
  line_open_ = false;
  std::fflush(out_);
}

}  // namespace wildreid::monitoring

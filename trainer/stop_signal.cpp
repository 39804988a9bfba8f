// See stop_signal.h. A lock-free atomic flag is the only async-signal-safe state we touch.
#include "trainer/stop_signal.h"

#include <atomic>
#include <csignal>

namespace wildreid::trainer {
namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }
}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}
bool stop_requested() { return g_stop.load(); }
void request_stop() { g_stop.store(true); }

}  // namespace wildreid::trainer

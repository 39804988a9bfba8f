// Runs a shell command for a test: captures stdout+stderr, kills the whole process group if it
// outlives `timeout_s` (so a hung mpirun fails the test instead of hanging CI), and reports
// the exit code and the wall-clock end time.
#pragma once
#include <string>

namespace wildreid::cluster::testing {

struct RunResult {
  int exit_code = -1;          // 128+signal when killed by a signal
  bool timed_out = false;
  std::string output;
  long long end_epoch_ms = 0;  // when the command ended (system clock, comparable across processes)
};

RunResult run_command(const std::string& command, double timeout_s);

}  // namespace wildreid::cluster::testing

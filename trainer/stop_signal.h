// SIGTERM / SIGUSR1 (Slurm preemption, `scancel --signal`): the handler only sets a flag; the
// loop checks it after each optimizer step, agrees on it across ranks, writes a checkpoint and
// exits with kPreemptedExitCode so a requeue script can tell preemption from failure.
#pragma once

namespace wildreid::trainer {

// Exit code after a signal-triggered checkpoint (sysexits' EX_TEMPFAIL: "try again later").
constexpr int kPreemptedExitCode = 75;

void install_stop_signal_handlers();  // SIGTERM and SIGUSR1
bool stop_requested();
void request_stop();  // what the handler does; also for tests

}  // namespace wildreid::trainer

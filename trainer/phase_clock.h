// Phase timing of one optimizer step that means the same on a GPU as on a CPU. On a CPU a phase is
// host time between marks. On CUDA, host time measures kernel launches (they return at once) and
// NCCL's wait() only makes the stream wait, so there each mark is an event recorded on the current
// stream and a phase is GPU time between events: the allreduce wait then is the time the stream
// stood waiting for the gradient reduction, and the optimizer is the optimizer's kernels. Reading
// CUDA times waits for the step's last event, so the loop reads them when it reads the step's
// other results (trainer/step_readout.h), not in every step.
#pragma once
#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <vector>

namespace c10 { class Event; }

namespace wildreid::trainer {

enum class Phase { kForward, kBackward, kAllreduceWait, kOptimizer };

struct PhaseTimes {
  double forward = 0, backward = 0, allreduce_wait = 0, optimizer = 0;  // seconds, summed over micro-steps
};

class PhaseClock {
 public:
  explicit PhaseClock(c10::Device device);
  ~PhaseClock();
  PhaseClock(PhaseClock&&) noexcept;
  PhaseClock& operator=(PhaseClock&&) noexcept;

  // Starts (or restarts) a step: the first phase begins now.
  void start();
  // Ends the running phase, attributing the time since the previous mark to `finished`.
  void lap(Phase finished);
  // Seconds per phase since start(). On CUDA this waits for the last recorded event.
  PhaseTimes read() const;
  bool uses_device_events() const { return device_.is_cuda(); }

 private:
  c10::Device device_;
  std::chrono::steady_clock::time_point last_;
  PhaseTimes host_;                                  // CPU: accumulated as laps happen
  std::vector<std::unique_ptr<c10::Event>> events_;  // CUDA: events_[0] = start, then one per lap
  std::vector<Phase> phases_;                        // CUDA: phase ended by events_[i + 1]
  size_t used_ = 0;                                  // CUDA: events recorded this step
};

}  // namespace wildreid::trainer

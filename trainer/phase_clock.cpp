// See phase_clock.h. Events come from c10's device-generic interface (c10::Event with timing
// enabled), so this file needs no CUDA headers and builds against a CPU-only LibTorch too; events
// belong to one step's clock, so a step's times can be read several steps later.
#include "trainer/phase_clock.h"

#include <c10/core/Event.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

namespace wildreid::trainer {
namespace {
double& slot(PhaseTimes& t, Phase p) {
  switch (p) {
    case Phase::kForward: return t.forward;
    case Phase::kBackward: return t.backward;
    case Phase::kAllreduceWait: return t.allreduce_wait;
    case Phase::kOptimizer: break;
  }
  return t.optimizer;
}
}  // namespace

PhaseClock::PhaseClock(c10::Device device) : device_(device) {}
PhaseClock::~PhaseClock() = default;
PhaseClock::PhaseClock(PhaseClock&&) noexcept = default;
PhaseClock& PhaseClock::operator=(PhaseClock&&) noexcept = default;

void PhaseClock::start() {
  host_ = PhaseTimes{};
  used_ = 0;
  phases_.clear();
  last_ = std::chrono::steady_clock::now();
  if (!device_.is_cuda()) return;
  if (events_.empty())
    events_.push_back(std::make_unique<c10::Event>(device_.type(), c10::EventFlag::BACKEND_DEFAULT));
  const auto stream = c10::impl::getDeviceGuardImpl(device_.type())->getStream(device_);
  events_[0]->record(stream);
  used_ = 1;
}

void PhaseClock::lap(Phase finished) {
  if (!device_.is_cuda()) {
    const auto now = std::chrono::steady_clock::now();
    slot(host_, finished) += std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return;
  }
  if (used_ == events_.size())
    events_.push_back(std::make_unique<c10::Event>(device_.type(), c10::EventFlag::BACKEND_DEFAULT));
  const auto stream = c10::impl::getDeviceGuardImpl(device_.type())->getStream(device_);
  events_[used_++]->record(stream);
  phases_.push_back(finished);
}

PhaseTimes PhaseClock::read() const {
  if (!device_.is_cuda()) return host_;
  PhaseTimes out;
  if (used_ < 2) return out;
  events_[used_ - 1]->synchronize();
  for (size_t i = 1; i < used_; ++i)
    slot(out, phases_[i - 1]) += events_[i - 1]->elapsedTime(*events_[i]) / 1000.0;  // ms -> s
  return out;
}

}  // namespace wildreid::trainer

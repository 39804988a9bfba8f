// Live and peak bytes of CPU tensors, counted by a wrapper installed as LibTorch's CPU allocator
// while a CpuMemoryCounter exists. It is how this project measures what a model's training step
// holds (activations with and without checkpointing, trainer/memory_plan.h) instead of guessing:
// every CPU tensor's storage comes through c10's CPU allocator, so the count is exact for the
// CPU run. Blocks allocated meanwhile are freed through their own deleter, so the original
// allocator can be restored while they are alive. One counter at a time (the allocator is global).
#pragma once
#include <cstdint>

namespace c10 { struct Allocator; }

namespace wildreid::models {

class CpuMemoryCounter {
 public:
  CpuMemoryCounter();   // installs the counting allocator; throws std::logic_error if one is active
  ~CpuMemoryCounter();  // restores the previous allocator
  CpuMemoryCounter(const CpuMemoryCounter&) = delete;
  CpuMemoryCounter& operator=(const CpuMemoryCounter&) = delete;

  int64_t current() const;  // bytes of blocks allocated since installation and still alive
  int64_t peak() const;     // the highest current() since installation or reset_peak()
  void reset_peak();        // peak = current

 private:
  c10::Allocator* previous_;
};

}  // namespace wildreid::models

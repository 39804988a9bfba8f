// See rng_state.h.
#include "trainer/rng_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <mutex>

namespace wildreid::trainer {
namespace {
bool have_cuda() { return at::globalContext().hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0; }
at::Generator cuda_generator() {
  return at::detail::getCUDAHooks().getDefaultGenerator(at::detail::getCUDAHooks().current_device());
}
}  // namespace

at::Tensor capture_rng_state() {
  std::vector<at::Tensor> parts;
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    parts.push_back(gen.get_state());
  }
  if (have_cuda()) {
    auto gen = cuda_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    parts.push_back(gen.get_state());
  }
  return at::cat(parts);
}

void restore_rng_state(const at::Tensor& state) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(cpu.mutex());
  const int64_t cpu_size = cpu.get_state().numel();
  const int64_t cuda_size = have_cuda() ? state.numel() - cpu_size : 0;
  TORCH_CHECK(state.scalar_type() == at::kByte && state.numel() >= cpu_size,
              "RNG state: expected at least ", cpu_size, " bytes, got ", state.numel());
  cpu.set_state(state.narrow(0, 0, cpu_size).contiguous());
  if (cuda_size > 0) {
    auto gen = cuda_generator();
    std::lock_guard<std::mutex> cuda_lock(gen.mutex());
    gen.set_state(state.narrow(0, cpu_size, cuda_size).contiguous());
  }
}

}  // namespace wildreid::trainer

// Debian's libcivetweb is built with USE_STACK_SIZE=102400: every civetweb thread asks for a
// 100 KiB stack. glibc places a process's static TLS on each thread's stack, and a process that
// loads LibTorch with CUDA carries more than 100 KiB of it (cuBLASLt alone ~94 KiB), so
// pthread_create fails with EINVAL and the exporter cannot start ("Cannot create first worker
// thread"). civetweb 1.15 has no run-time option for it, so civetweb_thread_stack.cpp defines
// pthread_attr_setstacksize in this executable: calls coming from libcivetweb get at least
// kCivetwebMinimumStack, every other caller is passed through to glibc unchanged.
#pragma once
#include <cstddef>

namespace wildreid::monitoring {

inline constexpr size_t kCivetwebMinimumStack = size_t(4) << 20;

// Links the override into any executable that uses the exporter; returns true when this
// process's pthread_attr_setstacksize is the override (false: civetweb keeps its 100 KiB).
bool civetweb_stack_override_active();

}  // namespace wildreid::monitoring

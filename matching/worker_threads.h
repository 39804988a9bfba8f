// Runs fn(i) for i in [0, n) on `threads` threads (data::parallel_for), each doing its own work
// with one LibTorch intra-op thread and OpenCV's own threading off, so N small independent jobs
// (pairs, images) use N cores without oversubscription. With threads <= 1 it runs on the caller
// with the caller's thread settings. The caller's LibTorch and OpenCV thread counts are restored.
#pragma once
#include <cstddef>
#include <functional>

namespace wildreid::matching {

void run_on_workers(size_t n, int threads, const std::function<void(size_t)>& fn);

// The default worker count: LibTorch's intra-op thread count (the cores this process may use).
int default_worker_threads();

}  // namespace wildreid::matching

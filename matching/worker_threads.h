// Runs fn(i) for i in [0, n) on `threads` threads (data::parallel_for), each with one LibTorch
// intra-op thread, so N small independent jobs (pairs, images) use N cores without the fork/join
// cost of splitting every small op. With threads <= 1 it runs on the caller with the caller's
// settings. The caller's intra-op thread count is restored. (OpenCV's own threading is the
// caller's business: see ScopedOpenCvThreads in local_pipeline.cpp.)
#pragma once
#include <cstddef>
#include <functional>

namespace wildreid::matching {

void run_on_workers(size_t n, int threads, const std::function<void(size_t)>& fn);

// The default worker count: LibTorch's intra-op thread count (the cores this process may use).
int default_worker_threads();

}  // namespace wildreid::matching

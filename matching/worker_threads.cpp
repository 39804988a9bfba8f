// See worker_threads.h. at::set_num_threads in a worker sets that thread's OpenMP team size (and
// the process default for threads created later), so the caller's count is put back at the end.
#include "matching/worker_threads.h"

#include <ATen/Parallel.h>

#include <opencv2/core/utility.hpp>

#include "data/parallel_for.h"

namespace wildreid::matching {

int default_worker_threads() { return at::get_num_threads(); }

void run_on_workers(size_t n, int threads, const std::function<void(size_t)>& fn) {
  if (threads <= 1 || n <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  const int torch_threads = at::get_num_threads();
  const int cv_threads = cv::getNumThreads();
  cv::setNumThreads(0);
  try {
    data::parallel_for(n, threads, [&](size_t i) {
      if (at::get_num_threads() != 1) at::set_num_threads(1);
      fn(i);
    });
  } catch (...) {
    at::set_num_threads(torch_threads);
    cv::setNumThreads(cv_threads);
    throw;
  }
  at::set_num_threads(torch_threads);
  cv::setNumThreads(cv_threads);
}

}  // namespace wildreid::matching

// See worker_threads.h. at::set_num_threads in a worker sets that thread's OpenMP team size (and
// the process default for threads created later), so the caller's count is put back at the end.
#include "matching/worker_threads.h"

#include <ATen/Parallel.h>

#include "data/parallel_for.h"

namespace wildreid::matching {

int default_worker_threads() { return at::get_num_threads(); }

void run_on_workers(size_t n, int threads, const std::function<void(size_t)>& fn) {
  if (threads <= 1 || n <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  const int torch_threads = at::get_num_threads();
  struct Restore {
    int threads;
    ~Restore() { at::set_num_threads(threads); }
  } restore{torch_threads};
  data::parallel_for(n, threads, [&](size_t i) {
    if (at::get_num_threads() != 1) at::set_num_threads(1);
    fn(i);
  });
}

}  // namespace wildreid::matching

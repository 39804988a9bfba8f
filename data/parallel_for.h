// Runs fn(i) for i in [0, n) on `threads` std::threads (the caller's thread included) pulling
// indices from an atomic counter. The first exception stops the hand-out of new indices and is
// rethrown in the caller. Enough for synth and pack, whose items are independent and whose
// results are stored by index, so the output never depends on the thread count.
#pragma once
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace wildreid::data {

template <typename Fn>
void parallel_for(size_t n, int threads, Fn&& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    while (!failed.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  const size_t extra = threads > 1 ? static_cast<size_t>(threads - 1) : 0;
  std::vector<std::thread> pool;
  for (size_t t = 0; t < extra && t + 1 < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace wildreid::data

// A fixed set of worker threads running decode/augment tasks, DALI-style: the loader hands it
// one task per sample and never shares mutable state between tasks. Workers call
// cv::setNumThreads(0) so OpenCV does not start its own threads under ours (which would
// oversubscribe the cores and make the per-thread figures meaningless).
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wildreid::data {

class DecodePool {
 public:
  explicit DecodePool(int threads);  // threads >= 1
  ~DecodePool();                     // runs the tasks already queued, then joins
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  void submit(std::function<void()> task);  // a task must not throw (catch inside)
  int size() const { return static_cast<int>(workers_.size()); }

 private:
  void work();
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace wildreid::data

// See decode_pool.h.
#include "data/decode_pool.h"

#include <opencv2/core.hpp>

#include <stdexcept>
#include <string>

namespace wildreid::data {

DecodePool::DecodePool(int threads) {
  if (threads < 1) throw std::invalid_argument("decode pool: threads must be >= 1, got " +
                                               std::to_string(threads));
  workers_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

DecodePool::~DecodePool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : workers_) t.join();
}

void DecodePool::submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  ready_.notify_one();
}

void DecodePool::work() {
  cv::setNumThreads(0);
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace wildreid::data

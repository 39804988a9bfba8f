// The three metric kinds of the Prometheus data model, as plain atomics so the training thread
// updates them without locks while exporter threads read them (prometheus-cpp's model, minus the
// dependency). A handle is created once through a Family (registry.h) and then cached by the
// caller; its address never changes while the registry lives.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace wildreid::monitoring {

// Monotone total. increment() with a negative amount is ignored (a counter never goes down).
class Counter {
 public:
  void increment(double amount = 1.0) {
    if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void increment(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void decrement(double amount = 1.0) { value_.fetch_add(-amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed upper bounds (ascending; +Inf is implicit). Each bucket is its
// own atomic holding the non-cumulative count; snapshot() makes them cumulative and derives
// _count from the buckets, so a scrape racing an observe() still shows count == +Inf bucket.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per upper bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0.0};
};

// Bounds start, start*factor, ... (count of them), like prometheus.ExponentialBuckets.
std::vector<double> exponential_buckets(double start, double factor, int count);

}  // namespace wildreid::monitoring

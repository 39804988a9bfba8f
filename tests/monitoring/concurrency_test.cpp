// Many threads update counters and a histogram while others serialize the registry: every
// scrape must see monotone totals and a histogram whose _count equals its +Inf bucket, and the
// final totals must be exact (no lost atomic updates).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "monitoring/exposition.h"
#include "monitoring/registry.h"
#include "tests/monitoring/exposition_reader.h"
#include "tests/monitoring/http_test_client.h"

namespace wildreid::monitoring {
namespace {

using testing::sample_value;

TEST(Concurrency, IncrementsWhileScrapingAreExact) {
  Registry registry(Labels{{"rank", "0"}});
  auto& counter = registry.counter("wildreid_work_total", "work").add();
  auto& labelled = registry.counter("wildreid_labelled_total", "work by thread");
  auto& histogram = registry.histogram("wildreid_latency_seconds", "lat", {0.5, 1.5}).add();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50000;
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::atomic<int> violations{0};

  std::vector<std::thread> scrapers;
  for (int s = 0; s < 2; ++s) {
    scrapers.emplace_back([&] {
      double last = 0;
      while (!done.load()) {
        std::string text = serialize(registry.collect());
        double now = sample_value(text, "wildreid_work_total{rank=\"0\"}");
        double inf = sample_value(text, "wildreid_latency_seconds_bucket{rank=\"0\",le=\"+Inf\"}");
        double count = sample_value(text, "wildreid_latency_seconds_count{rank=\"0\"}");
        if (now < last || inf != count) violations.fetch_add(1);
        last = now;
        scrapes.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      auto& mine = labelled.add({{"thread", std::to_string(t % 2)}});  // shared children too
      for (int i = 0; i < kPerThread; ++i) {
        counter.increment();
        mine.increment(2);
        histogram.observe(i % 3);  // 0 -> le 0.5, 1 -> le 1.5, 2 -> +Inf
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  for (auto& s : scrapers) s.join();

  std::string text = serialize(registry.collect());
  EXPECT_EQ(sample_value(text, "wildreid_work_total{rank=\"0\"}"), kThreads * kPerThread);
  EXPECT_EQ(sample_value(text, "wildreid_labelled_total{rank=\"0\",thread=\"0\"}"),
            2.0 * kPerThread * kThreads / 2);
  EXPECT_EQ(sample_value(text, "wildreid_labelled_total{rank=\"0\",thread=\"1\"}"),
            2.0 * kPerThread * kThreads / 2);
  auto snap = histogram.snapshot();
  uint64_t per_value = 0;
  for (int i = 0; i < kPerThread; ++i) per_value += (i % 3 == 0);
  EXPECT_EQ(snap.cumulative[0], per_value * kThreads);
  EXPECT_EQ(snap.count, static_cast<uint64_t>(kThreads) * kPerThread);
  double per_thread_sum = 0;
  for (int i = 0; i < kPerThread; ++i) per_thread_sum += i % 3;
  EXPECT_EQ(snap.sum, per_thread_sum * kThreads);  // small integers: exact in double
  EXPECT_GT(scrapes.load(), 0);
  EXPECT_EQ(violations.load(), 0);
}

}  // namespace
}  // namespace wildreid::monitoring

// Exact bytes of the text exposition for every metric type, escaping and value spelling.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "monitoring/exposition.h"
#include "monitoring/registry.h"

namespace wildreid::monitoring {
namespace {

TEST(Exposition, CounterWithConstantAndOwnLabels) {
  Registry registry(Labels{{"job", "j"}, {"rank", "1"}});
  auto& family = registry.counter("wildreid_things_total", "Things counted");
  family.add({{"kind", "a"}}).increment(3);
  family.add({{"kind", "b"}}).increment(0.5);
  EXPECT_EQ(serialize(registry.collect()),
            "# HELP wildreid_things_total Things counted\n"
            "# TYPE wildreid_things_total counter\n"
            "wildreid_things_total{job=\"j\",kind=\"a\",rank=\"1\"} 3\n"
            "wildreid_things_total{job=\"j\",kind=\"b\",rank=\"1\"} 0.5\n");
}

TEST(Exposition, CounterIgnoresNegativeIncrement) {
  Counter c;
  c.increment(2);
  c.increment(-1);
  EXPECT_EQ(c.value(), 2);
}

TEST(Exposition, GaugeWithoutLabels) {
  Registry registry;
  auto& g = registry.gauge("wildreid_level", "A level").add();
  g.set(10);
  g.decrement(2.5);
  g.increment(0.25);
  EXPECT_EQ(serialize(registry.collect()),
            "# HELP wildreid_level A level\n# TYPE wildreid_level gauge\nwildreid_level 7.75\n");
}

TEST(Exposition, HistogramCumulativeBucketsSumCount) {
  Registry registry(Labels{{"rank", "0"}});
  auto& h = registry.histogram("wildreid_step_seconds", "Step time", {0.1, 1, 10}).add();
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0}) h.observe(v);
  EXPECT_EQ(serialize(registry.collect()),
            "# HELP wildreid_step_seconds Step time\n"
            "# TYPE wildreid_step_seconds histogram\n"
            "wildreid_step_seconds_bucket{rank=\"0\",le=\"0.1\"} 2\n"
            "wildreid_step_seconds_bucket{rank=\"0\",le=\"1\"} 3\n"
            "wildreid_step_seconds_bucket{rank=\"0\",le=\"10\"} 4\n"
            "wildreid_step_seconds_bucket{rank=\"0\",le=\"+Inf\"} 6\n"
            "wildreid_step_seconds_sum{rank=\"0\"} 52.65\n"
            "wildreid_step_seconds_count{rank=\"0\"} 6\n");
}

TEST(Exposition, HistogramNaNGoesToInfOnly) {
  Histogram h({1.0});
  h.observe(std::nan(""));
  auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(s.count, 1u);
}

TEST(Exposition, HistogramRejectsUnsortedBounds) {
  EXPECT_THROW(Histogram({1.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(Histogram({2.0, 1.0}), std::invalid_argument);
}

TEST(Exposition, LabelValueEscaping) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  Registry registry;
  registry.gauge("wildreid_x", "x").add({{"path", "C:\\dir \"q\"\nnext"}}).set(1);
  EXPECT_EQ(serialize(registry.collect()),
            "# HELP wildreid_x x\n# TYPE wildreid_x gauge\n"
            "wildreid_x{path=\"C:\\\\dir \\\"q\\\"\\nnext\"} 1\n");
}

TEST(Exposition, HelpEscapingKeepsQuotes) {
  EXPECT_EQ(escape_help("a\\b\n\"c\""), "a\\\\b\\n\"c\"");
}

TEST(Exposition, ValueSpelling) {
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(2.5e-5), "2.5e-05");  // Prometheus parses Go/C float syntax
  EXPECT_EQ(format_value(123456789012.0), "123456789012");
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);  // round-trips
}

TEST(Registry, NamesAreValidated) {
  Registry registry;
  EXPECT_THROW(registry.counter("1bad", "h"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("bad-name", "h"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("ok", "h").add({{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.gauge("ok2", "h").add({{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "h", {1}).add({{"le", "1"}}), std::invalid_argument);
}

TEST(Registry, SameNameReturnsCachedFamilyAndChild) {
  Registry registry;
  auto& a = registry.counter("wildreid_c_total", "h");
  auto& b = registry.counter("wildreid_c_total", "h");
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.add({{"k", "v"}}), &b.add({{"k", "v"}}));
  EXPECT_THROW(registry.gauge("wildreid_c_total", "h"), std::invalid_argument);
  registry.histogram("wildreid_h", "h", {1, 2});
  EXPECT_THROW(registry.histogram("wildreid_h", "h", {1, 3}), std::invalid_argument);
}

TEST(Registry, GaugeRemoveDropsSeries) {
  Registry registry;
  auto& family = registry.gauge("wildreid_g", "h");
  family.add({{"k", "1"}}).set(1);
  family.remove({{"k", "1"}});
  EXPECT_EQ(serialize(registry.collect()), "# HELP wildreid_g h\n# TYPE wildreid_g gauge\n");
}

TEST(Registry, CollectHooksRunBeforeSnapshot) {
  Registry registry;
  auto& g = registry.gauge("wildreid_hooked", "h").add();
  int calls = 0;
  registry.add_collect_hook([&] { g.set(++calls); });
  registry.collect();
  auto text = serialize(registry.collect());
  EXPECT_NE(text.find("wildreid_hooked 2\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace wildreid::monitoring

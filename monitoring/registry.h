// Registry -> Family -> metric, the prometheus-cpp model. A Family is one metric name with its
// help text and type; each distinct label set in it is one Counter/Gauge/Histogram. Creating a
// family or a labelled child takes a mutex (rare, at start-up); callers keep the returned
// reference, so the hot path is a relaxed atomic add. collect() snapshots everything for the
// exposition (exposition.h) and runs collect hooks first (e.g. reading /proc for RSS).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "monitoring/metrics.h"

namespace wildreid::monitoring {

using Labels = std::map<std::string, std::string>;

enum class MetricType { kCounter, kGauge, kHistogram };
const char* metric_type_name(MetricType type);

// Throw std::invalid_argument naming the offending name unless it follows Prometheus rules.
void check_metric_name(const std::string& name);
void check_label_name(const std::string& name);

struct MetricSnapshot {
  Labels labels;              // constant labels merged with the child's labels
  double value = 0;           // counter/gauge
  Histogram::Snapshot histogram;
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<double> upper_bounds;  // histograms
  std::vector<MetricSnapshot> metrics;
};

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, Labels constant_labels);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  virtual FamilySnapshot collect() const = 0;

 protected:
  Labels merged(const Labels& labels) const;
  std::string name_;
  std::string help_;
  MetricType type_;
  Labels constant_labels_;
  mutable std::mutex mutex_;
};

template <typename T>
class Family;

template <>
class Family<Counter> : public FamilyBase {
 public:
  Family(std::string name, std::string help, Labels constant_labels);
  Counter& add(const Labels& labels = {});
  FamilySnapshot collect() const override;

 private:
  std::map<Labels, std::unique_ptr<Counter>> children_;
};

template <>
class Family<Gauge> : public FamilyBase {
 public:
  Family(std::string name, std::string help, Labels constant_labels);
  Gauge& add(const Labels& labels = {});
  // Drops a child so it is no longer exposed (e.g. a value that no longer applies).
  void remove(const Labels& labels);
  FamilySnapshot collect() const override;

 private:
  std::map<Labels, std::unique_ptr<Gauge>> children_;
};

template <>
class Family<Histogram> : public FamilyBase {
 public:
  Family(std::string name, std::string help, Labels constant_labels, std::vector<double> bounds);
  Histogram& add(const Labels& labels = {});
  FamilySnapshot collect() const override;

 private:
  std::vector<double> bounds_;
  std::map<Labels, std::unique_ptr<Histogram>> children_;
};

class Registry {
 public:
  // constant_labels are attached to every metric of every family (job, rank, ...).
  explicit Registry(Labels constant_labels = {});

  // Return the family of that name, creating it on first use. Asking for an existing name with
  // another type (or other histogram bounds) throws std::invalid_argument naming the metric.
  Family<Counter>& counter(const std::string& name, const std::string& help);
  Family<Gauge>& gauge(const std::string& name, const std::string& help);
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& upper_bounds);

  // Runs before every collect(); must be quick and thread-safe (scrapes run concurrently).
  void add_collect_hook(std::function<void()> hook);

  // Families in name order, each with its children in label order.
  std::vector<FamilySnapshot> collect() const;

 private:
  FamilyBase* find(const std::string& name, MetricType type) const;
  Labels constant_labels_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void()>> hooks_;
};

}  // namespace wildreid::monitoring

// This rank's prometheus::Registry together with the labels every family in it carries (job,
// rank, local_rank, node, as prometheus-cpp constant labels), so a metric is declared by name and
// help alone and any scrape says whose numbers it holds. Asking again for a family returns the
// existing one (prometheus-cpp's Merge behaviour). Callers keep the child handles Add() returns,
// so an update on the training thread is an atomic add (a short mutex for a histogram), with no
// lookup.
#pragma once
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/labels.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace wildreid::monitoring {

class RankRegistry {
 public:
  explicit RankRegistry(prometheus::Labels constant_labels = {});

  prometheus::Family<prometheus::Counter>& counter(const std::string& name, const std::string& help);
  prometheus::Family<prometheus::Gauge>& gauge(const std::string& name, const std::string& help);
  // Buckets are given per child: family.Add(labels, bucket_bounds).
  prometheus::Family<prometheus::Histogram>& histogram(const std::string& name,
                                                       const std::string& help);

  // What the exporter serves; shared because prometheus::Exposer holds collectables weakly.
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }
  const prometheus::Labels& constant_labels() const { return labels_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Labels labels_;
};

}  // namespace wildreid::monitoring

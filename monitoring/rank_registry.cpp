// prometheus-cpp's builders, with this rank's constant labels on every family.
#include "monitoring/rank_registry.h"

namespace wildreid::monitoring {

RankRegistry::RankRegistry(prometheus::Labels constant_labels)
    : registry_(std::make_shared<prometheus::Registry>()), labels_(std::move(constant_labels)) {}

prometheus::Family<prometheus::Counter>& RankRegistry::counter(const std::string& name,
                                                               const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Labels(labels_).Register(*registry_);
}

prometheus::Family<prometheus::Gauge>& RankRegistry::gauge(const std::string& name,
                                                           const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Labels(labels_).Register(*registry_);
}

prometheus::Family<prometheus::Histogram>& RankRegistry::histogram(const std::string& name,
                                                                   const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Labels(labels_).Register(*registry_);
}

}  // namespace wildreid::monitoring

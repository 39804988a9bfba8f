// Family and Registry bookkeeping: name validation, child creation under a mutex, snapshots.
#include "monitoring/registry.h"

#include <stdexcept>

namespace wildreid::monitoring {
namespace {

bool is_name_char(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (allow_colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!is_name_char(name[i], i == 0, allow_colon)) return false;
  return true;
}

void check_labels(const std::string& family, const Labels& labels, MetricType type) {
  for (const auto& [key, value] : labels) {
    check_label_name(key);
    if (type == MetricType::kHistogram && key == "le")
      throw std::invalid_argument("metric " + family + ": label \"le\" is reserved for histograms");
  }
}

}  // namespace

const char* metric_type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void check_metric_name(const std::string& name) {
  if (!valid_name(name, true))
    throw std::invalid_argument("invalid metric name \"" + name + "\" (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
}

void check_label_name(const std::string& name) {
  if (!valid_name(name, false) || name.rfind("__", 0) == 0)
    throw std::invalid_argument("invalid label name \"" + name +
                                "\" (want [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type, Labels constant_labels)
    : name_(std::move(name)), help_(std::move(help)), type_(type),
      constant_labels_(std::move(constant_labels)) {
  check_metric_name(name_);
  check_labels(name_, constant_labels_, type_);
}

Labels FamilyBase::merged(const Labels& labels) const {
  Labels all = constant_labels_;
  for (const auto& [k, v] : labels) all[k] = v;
  return all;
}

// ---- counters and gauges share the shape; spelled out to keep templates out of the header.

Family<Counter>::Family(std::string name, std::string help, Labels constant_labels)
    : FamilyBase(std::move(name), std::move(help), MetricType::kCounter, std::move(constant_labels)) {}

Counter& Family<Counter>::add(const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = children_[labels];
  if (!slot) {
    check_labels(name_, labels, type_);
    slot = std::make_unique<Counter>();
  }
  return *slot;
}

FamilySnapshot Family<Counter>::collect() const {
  FamilySnapshot s{name_, help_, type_, {}, {}};
  std::lock_guard lock(mutex_);
  for (const auto& [labels, child] : children_)
    s.metrics.push_back({merged(labels), child->value(), {}});
  return s;
}

Family<Gauge>::Family(std::string name, std::string help, Labels constant_labels)
    : FamilyBase(std::move(name), std::move(help), MetricType::kGauge, std::move(constant_labels)) {}

Gauge& Family<Gauge>::add(const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = children_[labels];
  if (!slot) {
    check_labels(name_, labels, type_);
    slot = std::make_unique<Gauge>();
  }
  return *slot;
}

void Family<Gauge>::remove(const Labels& labels) {
  std::lock_guard lock(mutex_);
  children_.erase(labels);
}

FamilySnapshot Family<Gauge>::collect() const {
  FamilySnapshot s{name_, help_, type_, {}, {}};
  std::lock_guard lock(mutex_);
  for (const auto& [labels, child] : children_)
    s.metrics.push_back({merged(labels), child->value(), {}});
  return s;
}

Family<Histogram>::Family(std::string name, std::string help, Labels constant_labels,
                          std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), MetricType::kHistogram,
                 std::move(constant_labels)),
      bounds_(Histogram(std::move(bounds)).upper_bounds()) {}

Histogram& Family<Histogram>::add(const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = children_[labels];
  if (!slot) {
    check_labels(name_, labels, type_);
    slot = std::make_unique<Histogram>(bounds_);
  }
  return *slot;
}

FamilySnapshot Family<Histogram>::collect() const {
  FamilySnapshot s{name_, help_, type_, bounds_, {}};
  std::lock_guard lock(mutex_);
  for (const auto& [labels, child] : children_)
    s.metrics.push_back({merged(labels), 0.0, child->snapshot()});
  return s;
}

// ---- registry

Registry::Registry(Labels constant_labels) : constant_labels_(std::move(constant_labels)) {
  check_labels("(registry)", constant_labels_, MetricType::kGauge);
}

FamilyBase* Registry::find(const std::string& name, MetricType type) const {
  auto it = families_.find(name);
  if (it == families_.end()) return nullptr;
  if (it->second->type() != type)
    throw std::invalid_argument("metric " + name + " already registered as " +
                                metric_type_name(it->second->type()) + ", not " +
                                metric_type_name(type));
  return it->second.get();
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  if (auto* f = find(name, MetricType::kCounter)) return static_cast<Family<Counter>&>(*f);
  auto family = std::make_unique<Family<Counter>>(name, help, constant_labels_);
  auto& ref = *family;
  families_[name] = std::move(family);
  return ref;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  if (auto* f = find(name, MetricType::kGauge)) return static_cast<Family<Gauge>&>(*f);
  auto family = std::make_unique<Family<Gauge>>(name, help, constant_labels_);
  auto& ref = *family;
  families_[name] = std::move(family);
  return ref;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       const std::vector<double>& upper_bounds) {
  std::lock_guard lock(mutex_);
  if (auto* f = find(name, MetricType::kHistogram)) {
    auto& family = static_cast<Family<Histogram>&>(*f);
    if (family.collect().upper_bounds != Histogram(upper_bounds).upper_bounds())
      throw std::invalid_argument("metric " + name + " already registered with other buckets");
    return family;
  }
  auto family = std::make_unique<Family<Histogram>>(name, help, constant_labels_, upper_bounds);
  auto& ref = *family;
  families_[name] = std::move(family);
  return ref;
}

void Registry::add_collect_hook(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  hooks_.push_back(std::move(hook));
}

std::vector<FamilySnapshot> Registry::collect() const {
  std::vector<std::function<void()>> hooks;
  std::vector<const FamilyBase*> families;
  {
    std::lock_guard lock(mutex_);
    hooks = hooks_;
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  for (const auto& hook : hooks) hook();
  std::vector<FamilySnapshot> out;
  out.reserve(families.size());
  for (const auto* family : families) out.push_back(family->collect());
  return out;
}

}  // namespace wildreid::monitoring

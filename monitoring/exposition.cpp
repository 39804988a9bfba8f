// Text format 0.0.4 writer (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "monitoring/exposition.h"

#include <charconv>
#include <cmath>

namespace wildreid::monitoring {
namespace {

void append_labels(std::string& out, const Labels& labels, const char* le = nullptr) {
  if (labels.empty() && !le) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  }
  if (le) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, const std::string& name, const char* suffix,
                   const Labels& labels, const std::string& value, const char* le = nullptr) {
  out += name;
  out += suffix;
  append_labels(out, labels, le);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string serialize(const std::vector<FamilySnapshot>& families) {
  std::string out;
  out.reserve(4096);
  for (const auto& family : families) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    out += escape_help(family.help);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += metric_type_name(family.type);
    out += '\n';
    for (const auto& metric : family.metrics) {
      if (family.type != MetricType::kHistogram) {
        append_sample(out, family.name, "", metric.labels, format_value(metric.value));
        continue;
      }
      const auto& h = metric.histogram;
      for (size_t i = 0; i < h.cumulative.size(); ++i) {
        std::string le = i < family.upper_bounds.size() ? format_value(family.upper_bounds[i]) : "+Inf";
        append_sample(out, family.name, "_bucket", metric.labels, std::to_string(h.cumulative[i]),
                      le.c_str());
      }
      append_sample(out, family.name, "_sum", metric.labels, format_value(h.sum));
      append_sample(out, family.name, "_count", metric.labels, std::to_string(h.count));
    }
  }
  return out;
}

}  // namespace wildreid::monitoring

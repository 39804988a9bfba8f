// Prometheus text exposition format 0.0.4, written by hand because prometheus-cpp is not
// packaged here. Kept apart from the registry so tests can check the exact bytes of each metric
// type and escaping rule, and promtool can check a real scrape.
#pragma once
#include <string>
#include <vector>

#include "monitoring/registry.h"

namespace wildreid::monitoring {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Label values: backslash, double quote and newline become \\, \" and \n.
std::string escape_label_value(const std::string& value);
// HELP text: backslash and newline become \\ and \n.
std::string escape_help(const std::string& help);
// Shortest round-trip decimal; +Inf, -Inf and NaN as the format spells them.
std::string format_value(double value);

// The whole exposition: per family `# HELP`, `# TYPE`, then one line per sample; histograms as
// name_bucket{...,le="b"} (cumulative, ending with le="+Inf"), name_sum and name_count.
std::string serialize(const std::vector<FamilySnapshot>& families);

}  // namespace wildreid::monitoring

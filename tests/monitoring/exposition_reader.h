// Reads a Prometheus text exposition the way the monitoring tests need it: a series is its name
// plus a label map, so a sample is found whatever order its labels were written in, and a whole
// scrape can be reduced to its naming contract (HELP and TYPE lines, every series' name and
// labels, values dropped) for comparison with tests/monitoring/fixtures/.
#pragma once
#include <map>
#include <set>
#include <string>

namespace wildreid::monitoring::testing {

struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  bool operator==(const Series&) const = default;
};

// "name{a=\"x\",b=\"y\"}" (escapes \\ \" \n understood); throws std::invalid_argument on bad text.
Series parse_series(const std::string& text);
// The canonical text of a series: labels in name order.
std::string series_text(const Series& series);

// Value of the sample whose series equals `series` (given as text, labels in any order); NaN if
// absent.
double sample_value(const std::string& exposition, const std::string& series);

// The scrape's naming contract: "# HELP ..." and "# TYPE ..." lines verbatim, and one
// series_text() per sample line (values and timestamps dropped).
std::set<std::string> naming_contract(const std::string& exposition);

}  // namespace wildreid::monitoring::testing

// A small parser for sample lines: `name{labels} value [timestamp]`.
#include "tests/monitoring/exposition_reader.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace wildreid::monitoring::testing {
namespace {

// Parses a series starting at text[0]; returns where it ended.
size_t parse_series_at(const std::string& text, Series& out) {
  size_t i = text.find_first_of("{ ");
  out.name = text.substr(0, i);
  out.labels.clear();
  if (out.name.empty()) throw std::invalid_argument("no metric name in: " + text);
  if (i == std::string::npos || text[i] == ' ') return i == std::string::npos ? text.size() : i;
  ++i;  // past '{'
  while (i < text.size() && text[i] != '}') {
    size_t eq = text.find("=\"", i);
    if (eq == std::string::npos) throw std::invalid_argument("bad label in: " + text);
    std::string key = text.substr(i, eq - i), value;
    for (i = eq + 2; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        value += text[i] == 'n' ? '\n' : text[i];
      } else {
        value += text[i];
      }
    }
    if (i >= text.size()) throw std::invalid_argument("unterminated label value in: " + text);
    out.labels[key] = value;
    ++i;  // past '"'
    if (i < text.size() && text[i] == ',') ++i;
  }
  if (i >= text.size()) throw std::invalid_argument("unterminated label set in: " + text);
  return i + 1;
}

}  // namespace

Series parse_series(const std::string& text) {
  Series s;
  if (parse_series_at(text, s) != text.size())
    throw std::invalid_argument("trailing text after series: " + text);
  return s;
}

std::string series_text(const Series& series) {
  std::string out = series.name;
  if (series.labels.empty()) return out;
  out += '{';
  for (const auto& [key, value] : series.labels) {
    if (out.back() != '{') out += ',';
    out += key + "=\"" + value + '"';
  }
  return out + '}';
}

double sample_value(const std::string& exposition, const std::string& series) {
  Series wanted = parse_series(series);
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.compare(0, wanted.name.size(), wanted.name) != 0)
      continue;
    Series s;
    size_t end = parse_series_at(line, s);
    if (s == wanted) return std::stod(line.substr(end + 1));
  }
  return std::nan("");
}

std::set<std::string> naming_contract(const std::string& exposition) {
  std::set<std::string> lines;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      lines.insert(line);
      continue;
    }
    Series s;
    parse_series_at(line, s);
    lines.insert(series_text(s));
  }
  return lines;
}

}  // namespace wildreid::monitoring::testing

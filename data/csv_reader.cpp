// A single-pass state machine over the whole text (metadata files are a few MB at most), tracking
// the line number so errors can point at it. Strict on malformed quoting: a stray quote inside an
// unquoted field or text after a closing quote is an error, not silently repaired data.
#include "data/csv_reader.h"

#include <fstream>
#include <sstream>

namespace wildreid::data {
namespace {

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

[[noreturn]] void fail(const std::string& source, size_t line, const std::string& reason) {
  throw CsvError(source + ":" + std::to_string(line) + ": " + reason);
}

}  // namespace

int CsvTable::column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

std::string CsvTable::where(size_t row) const {
  return source + ":" + std::to_string(row < row_lines.size() ? row_lines[row] : 0);
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
    text.remove_prefix(3);

  size_t line = 1;
  size_t i = 0;
  const size_t n = text.size();
  bool have_header = false;
  while (i < n) {
    const size_t record_line = line;
    std::vector<std::string> fields;
    bool record_done = false;
    bool line_is_empty = true;  // no characters before the line end
    while (!record_done) {
      std::string field;
      if (i < n && text[i] == '"') {
        line_is_empty = false;
        const size_t quote_line = line;
        ++i;
        while (true) {
          if (i >= n) fail(source, quote_line, "unterminated quoted field (no closing quote before end of file)");
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          fail(source, line, std::string("unexpected character '") + text[i] + "' after closing quote");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') fail(source, line, "quote inside an unquoted field (quote the whole field and double the quote)");
          field.push_back(text[i]);
          ++i;
        }
        if (!field.empty()) line_is_empty = false;
      }
      fields.push_back(std::move(field));
      if (i >= n) {
        record_done = true;
      } else if (text[i] == ',') {
        line_is_empty = false;
        ++i;
      } else {  // line end: \n, \r\n or a lone \r
        if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        record_done = true;
      }
    }
    if (line_is_empty && fields.size() == 1) continue;  // blank line
    if (!have_header) {
      for (auto& f : fields) table.header.push_back(trim(f));
      for (size_t a = 0; a < table.header.size(); ++a) {
        if (table.header[a].empty()) fail(source, record_line, "empty column name in header (column " + std::to_string(a + 1) + ")");
        for (size_t b = 0; b < a; ++b)
          if (table.header[a] == table.header[b]) fail(source, record_line, "duplicate column '" + table.header[a] + "' in header");
      }
      have_header = true;
      continue;
    }
    if (fields.size() != table.header.size())
      fail(source, record_line, "expected " + std::to_string(table.header.size()) + " fields as in the header, found " +
                                    std::to_string(fields.size()));
    table.rows.push_back(std::move(fields));
    table.row_lines.push_back(record_line);
  }
  if (!have_header) fail(source, 1, "empty file: no header row");
  return table;
}

CsvTable read_csv_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CsvError(path.string() + ": cannot open CSV file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw CsvError(path.string() + ": read error");
  return parse_csv(buffer.str(), path.string());
}

std::string csv_field(std::string_view value) {
  const bool needs_quotes = value.find_first_of(",\"\r\n") != std::string_view::npos ||
                            (!value.empty() && (value.front() == ' ' || value.back() == ' ')) ||
                            value.starts_with("\xEF\xBB\xBF");  // else read back as a file's BOM
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    out += csv_field(fields[i]);
  }
  out.push_back('\n');
  return out;
}

}  // namespace wildreid::data

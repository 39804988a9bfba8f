// RFC 4180 CSV reading for metadata files (AnimalCLEF2025, WildlifeReID-10k): quoted fields with
// "" escapes and embedded commas/newlines, CRLF or LF line ends, a UTF-8 BOM, empty fields.
// Depends on the standard library only, so the libFuzzer target can build it with clang alone.
// Every error names the source and the 1-based line where the offending record starts.
#pragma once
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wildreid::data {

// Malformed CSV input; what() is "<source>:<line>: <reason>".
struct CsvError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CsvTable {
  std::string source;                              // file name used in messages
  std::vector<std::string> header;                 // column names, surrounding spaces trimmed
  std::vector<std::vector<std::string>> rows;      // every row has header.size() fields
  std::vector<size_t> row_lines;                   // line where each row starts (1-based)

  // Index of a column by name, or -1 when absent.
  int column(std::string_view name) const;
  // "<source>:<line>" of a row, for messages.
  std::string where(size_t row) const;
};

// Parses a whole CSV text. The first record is the header; completely empty lines are skipped;
// a row whose field count differs from the header's is an error.
CsvTable parse_csv(std::string_view text, const std::string& source);

// Reads and parses a file; throws CsvError when it cannot be read or is malformed.
CsvTable read_csv_file(const std::filesystem::path& path);

// One CSV field, quoted when it holds a comma, quote, CR or LF (or has surrounding spaces).
std::string csv_field(std::string_view value);
// A whole row, comma-joined, ending in "\n".
std::string csv_row(const std::vector<std::string>& fields);

}  // namespace wildreid::data

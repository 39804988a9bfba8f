// libFuzzer entry for the outside-input parsers of data/: the CSV reader and both metadata
// layouts on top of it. Any input must either parse or throw CsvError; a crash, an ASan/UBSan
// report, or another exception type is a bug. Parsed rows are also re-written with csv_row and
// re-parsed, which must reproduce them exactly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "data/csv_reader.h"
#include "data/metadata.h"

using namespace wildreid::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CsvTable table;
  try {
    table = parse_csv(text, "fuzz.csv");
  } catch (const CsvError&) {
    return 0;
  }
  std::string rewritten = csv_row(table.header);
  for (const auto& row : table.rows) rewritten += csv_row(row);
  try {
    const CsvTable again = parse_csv(rewritten, "rewritten.csv");
    // Blank rows (one empty field) are skipped on re-parse; everything else must round-trip.
    size_t j = 0;
    for (const auto& row : table.rows) {
      if (row.size() == 1 && row[0].empty()) continue;
      if (j >= again.rows.size() || again.rows[j] != row) std::abort();
      ++j;
    }
  } catch (const CsvError&) {
    // Header names are trimmed on parse, so a rewritten header can become empty or duplicated.
  }
  for (auto format : {MetadataFormat::kAuto, MetadataFormat::kAnimalClef, MetadataFormat::kWildlifeReid10k}) {
    try {
      parse_metadata(table, format);
    } catch (const CsvError&) {
    }
  }
  return 0;
}

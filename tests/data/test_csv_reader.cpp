// CSV edge cases of real metadata files and every malformed-input error, which must name the
// file and the line where the offending record starts.
#include <gtest/gtest.h>

#include "data/csv_reader.h"
#include "data_test_util.h"

namespace wildreid::data {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_csv(text, "meta.csv");
  } catch (const CsvError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(CsvReader, QuotedFieldsEscapesCommasAndNewlines) {
  const auto t = parse_csv("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n1,2,3\n", "f.csv");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], "x, y");
  EXPECT_EQ(t.rows[0][1], "say \"hi\"");
  EXPECT_EQ(t.rows[0][2], "two\nlines");
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(t.row_lines[0], 2u);
  EXPECT_EQ(t.row_lines[1], 4u);  // the embedded newline moved it down a line
}

TEST(CsvReader, CrlfBomEmptyFieldsAndMissingFinalNewline) {
  const auto t = parse_csv("\xEF\xBB\xBFimage_id,identity,date\r\n1,,\r\n2,\"\",2024-01-01", "f.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"image_id", "identity", "date"}));
  EXPECT_EQ(t.column("image_id"), 0);  // the BOM is not part of the first name
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"1", "", ""}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"2", "", "2024-01-01"}));
  EXPECT_EQ(t.row_lines[1], 3u);
}

TEST(CsvReader, BlankLinesSkippedAndColumnsFoundByName) {
  const auto t = parse_csv("b,a\n\n2,1\n\r\n4,3\n\n", "f.csv");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.column("a"), 1);
  EXPECT_EQ(t.column("missing"), -1);
  EXPECT_EQ(t.rows[1][t.column("a")], "3");
  EXPECT_EQ(t.where(1), "f.csv:5");
}

TEST(CsvReader, MalformedInputNamesFileAndLine) {
  EXPECT_EQ(error_of("a,b\n1,2\n3,\"open\n4,5\n"), "meta.csv:3: unterminated quoted field (no closing quote before end of file)");
  EXPECT_EQ(error_of("a,b\n1,2\n3\n"), "meta.csv:3: expected 2 fields as in the header, found 1");
  EXPECT_EQ(error_of("a,b\n1,2,3\n"), "meta.csv:2: expected 2 fields as in the header, found 3");
  EXPECT_NE(error_of("a,b\n\"x\"y,2\n").find("meta.csv:2: unexpected character 'y' after closing quote"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2\nx\"y,2\n").find("meta.csv:3: quote inside an unquoted field"), std::string::npos);
  EXPECT_NE(error_of("a,a\n").find("meta.csv:1: duplicate column 'a'"), std::string::npos);
  EXPECT_NE(error_of("a,,c\n").find("meta.csv:1: empty column name"), std::string::npos);
  EXPECT_EQ(error_of(""), "meta.csv:1: empty file: no header row");
  EXPECT_EQ(error_of("\n\r\n"), "meta.csv:1: empty file: no header row");
}

TEST(CsvReader, MissingFileIsAnError) {
  try {
    read_csv_file("/nonexistent/wildreid/metadata.csv");
    FAIL() << "no error";
  } catch (const CsvError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/wildreid/metadata.csv: cannot open"), std::string::npos);
  }
}

TEST(CsvReader, WriterRoundTripsAwkwardValues) {
  const std::vector<std::string> values = {"plain", "", "comma,inside", "quote\"inside", "line\nbreak",
                                           "crlf\r\nbreak", " padded ", "\"", "ünïcödé"};
  std::string text = csv_row({"k", "v"});
  for (size_t i = 0; i < values.size(); ++i) text += csv_row({std::to_string(i), values[i]});
  const auto t = parse_csv(text, "w.csv");
  ASSERT_EQ(t.rows.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(t.rows[i][1], values[i]) << "value " << i;
}

}  // namespace
}  // namespace wildreid::data

// Metadata readers: both layouts, format detection, the real files' quirks, and every rejected
// row (bad split, missing identity, duplicate id, path escaping the root) named by file and line.
#include <gtest/gtest.h>

#include "data/metadata.h"

namespace wildreid::data {
namespace {

Metadata parse(const std::string& text, MetadataFormat format = MetadataFormat::kAuto) {
  return parse_metadata(parse_csv(text, "metadata.csv"), format);
}

std::string error_of(const std::string& text, MetadataFormat format = MetadataFormat::kAuto) {
  try {
    parse(text, format);
  } catch (const CsvError& e) {
    return e.what();
  }
  return "<no error>";
}

const char* kClefHeader = "image_id,identity,path,date,orientation,species,split,dataset\n";

TEST(Metadata, AnimalClefRowsWithTheRealQuirks) {
  const auto m = parse(std::string(kClefHeader) +
                       "0,SeaTurtleID2022_t001,images/SeaTurtleID2022/database/a.jpg,2014-06-07,,loggerhead turtle,database,SeaTurtleID2022\n"
                       "1,SalamanderID2025_0001,images/SalamanderID2025/database/b.jpg,2020-01-01,top,,database,SalamanderID2025\n"
                       "2,,images/LynxID2025/query/c.jpg,,left,lynx,query,LynxID2025\n");
  EXPECT_EQ(m.format, MetadataFormat::kAnimalClef);
  ASSERT_EQ(m.rows.size(), 3u);
  EXPECT_EQ(m.rows[0].orientation, "");
  EXPECT_EQ(m.rows[1].species, "");
  EXPECT_EQ(m.rows[2].identity, "");
  EXPECT_EQ(m.rows[2].split, "query");
  EXPECT_EQ(m.rows[2].date, "");
  EXPECT_EQ(m.rows[2].line, 4u);
}

TEST(Metadata, ColumnsFoundByNameInAnyOrderWithExtras) {
  const auto m = parse("dataset,split,extra,species,orientation,date,path,identity,image_id\n"
                       "LynxID2025,database,x,lynx,right,,p/q.jpg,L1,7\n",
                       MetadataFormat::kAnimalClef);
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(m.rows[0].image_id, "7");
  EXPECT_EQ(m.rows[0].identity, "L1");
  EXPECT_EQ(m.rows[0].path, "p/q.jpg");
}

TEST(Metadata, WildlifeReid10kWithAndWithoutImageId) {
  const std::string header = "identity,path,species,date,orientation,split,dataset,cluster_id\n";
  const auto m = parse(header + "a1,images/Zoo/1.jpg,zebra,,left,train,Zoo,3\n"
                                "a2,images/Zoo/2.jpg,zebra,,,test,Zoo,\n");
  EXPECT_EQ(m.format, MetadataFormat::kWildlifeReid10k);
  EXPECT_EQ(m.rows[0].image_id, "Zoo/images/Zoo/1.jpg");  // stable: dataset + path
  EXPECT_EQ(m.rows[1].split, "test");
  const auto again = parse(header + "a1,images/Zoo/1.jpg,zebra,,left,train,Zoo,3\n");
  EXPECT_EQ(again.rows[0].image_id, m.rows[0].image_id);

  const auto with_ids = parse("identity,path,species,date,orientation,split,dataset,cluster_id,image_id\n"
                              "a1,x.jpg,zebra,,,train,Zoo,1,custom-9\n");
  EXPECT_EQ(with_ids.format, MetadataFormat::kWildlifeReid10k);
  EXPECT_EQ(with_ids.rows[0].image_id, "custom-9");
}

TEST(Metadata, FormatNames) {
  EXPECT_EQ(parse_metadata_format("animalclef"), MetadataFormat::kAnimalClef);
  EXPECT_EQ(parse_metadata_format("wildlifereid10k"), MetadataFormat::kWildlifeReid10k);
  EXPECT_EQ(parse_metadata_format("auto"), MetadataFormat::kAuto);
  EXPECT_THROW(parse_metadata_format("kaggle"), std::invalid_argument);
}

TEST(Metadata, BadRowsNameFileAndLine) {
  const std::string h = kClefHeader;
  EXPECT_EQ(error_of("image_id,identity,path,date,orientation,species,split\n1,a,p.jpg,,,,database\n",
                     MetadataFormat::kAnimalClef),
            "metadata.csv:1: missing column 'dataset' for the animalclef format");
  EXPECT_EQ(error_of(h + "1,a,p.jpg,,,,database,D\n2,a,q.jpg,,,,gallery,D\n"),
            "metadata.csv:3: split 'gallery' is neither 'database' nor 'query'");
  EXPECT_EQ(error_of(h + "1,,p.jpg,,,,database,D\n"), "metadata.csv:2: database row without an identity");
  EXPECT_EQ(error_of(h + "1,a,p.jpg,,,,database,D\n1,b,q.jpg,,,,database,D\n"),
            "metadata.csv:3: duplicate image_id '1' (first on line 2)");
  EXPECT_EQ(error_of(h + "1,a,,,,,database,D\n"), "metadata.csv:2: empty path");
  EXPECT_EQ(error_of(h + "1,a,p.jpg,,,,database,\n"), "metadata.csv:2: empty 'dataset'");
  EXPECT_EQ(error_of("identity,path,species,date,orientation,split,dataset,cluster_id\na,p.jpg,z,,,val,D,\n"),
            "metadata.csv:2: split 'val' is neither 'train' nor 'test'");
}

TEST(Metadata, PathsEscapingTheRootAreRejected) {
  const std::string h = kClefHeader;
  EXPECT_EQ(error_of(h + "1,a,../secret.jpg,,,,database,D\n"),
            "metadata.csv:2: path '../secret.jpg' escapes the image root ('..')");
  EXPECT_EQ(error_of(h + "1,a,images/../../x.jpg,,,,database,D\n"),
            "metadata.csv:2: path 'images/../../x.jpg' escapes the image root ('..')");
  EXPECT_EQ(error_of(h + "1,a,/etc/passwd,,,,database,D\n"),
            "metadata.csv:2: path '/etc/passwd' is absolute; paths must be relative to the image root");
  EXPECT_EQ(error_of(h + "1,a,images\\..\\x.jpg,,,,database,D\n"),
            "metadata.csv:2: path 'images\\..\\x.jpg' escapes the image root ('..')");
  // Names that merely contain dots are fine.
  EXPECT_EQ(error_of(h + "1,a,images/..hidden/x..jpg,,,,database,D\n"), "<no error>");
}

}  // namespace
}  // namespace wildreid::data

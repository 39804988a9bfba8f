// Readers for the two metadata layouts the project packs, normalised to one row type:
//   AnimalCLEF2025     image_id,identity,path,date,orientation,species,split,dataset
//                      (split database|query; identity empty on query rows)
//   WildlifeReID-10k   identity,path,species,date,orientation,split,dataset,cluster_id[,image_id]
//                      (split train|test; image_id made from the path when absent)
// Columns are found by name, extra columns are ignored. Every rejected row is reported as
// "<file>:<line>: <reason>". Standard library only (shares the CSV reader's fuzz target).
#pragma once
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/csv_reader.h"

namespace wildreid::data {

enum class MetadataFormat { kAuto, kAnimalClef, kWildlifeReid10k };

// "auto", "animalclef", "wildlifereid10k"; throws std::invalid_argument otherwise.
MetadataFormat parse_metadata_format(const std::string& name);
std::string metadata_format_name(MetadataFormat format);

struct MetadataRow {
  std::string image_id;
  std::string identity;     // empty on AnimalCLEF query rows
  std::string path;         // relative to the image root, checked not to escape it
  std::string date;
  std::string orientation;
  std::string species;
  std::string split;        // as in the file: database/query or train/test
  std::string dataset;
  size_t line = 0;          // line of the row in the CSV (for messages)
};

struct Metadata {
  std::string source;       // the CSV file
  MetadataFormat format = MetadataFormat::kAuto;
  std::vector<MetadataRow> rows;
};

// Header-based detection: a `cluster_id` column or no `image_id` column means WildlifeReID-10k.
MetadataFormat detect_metadata_format(const CsvTable& table);

// Throws CsvError ("<file>:<line>: ...") for missing columns, bad split values, missing identity
// on labelled rows, duplicate image ids, and paths that are empty, absolute or contain "..".
Metadata parse_metadata(const CsvTable& table, MetadataFormat format = MetadataFormat::kAuto);
Metadata read_metadata(const std::filesystem::path& csv, MetadataFormat format = MetadataFormat::kAuto);

// Throws CsvError "<where>: path '<p>' ..." when `p` is empty, absolute or has a ".." component.
void check_relative_path(const std::string& p, const std::string& where);

}  // namespace wildreid::data

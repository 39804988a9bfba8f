// Normalises both metadata layouts into MetadataRow. Validation happens here, before any image is
// read, so that a bad row stops a pack in milliseconds with its file and line.
#include "data/metadata.h"

#include <unordered_map>

namespace wildreid::data {

MetadataFormat parse_metadata_format(const std::string& name) {
  if (name == "auto") return MetadataFormat::kAuto;
  if (name == "animalclef") return MetadataFormat::kAnimalClef;
  if (name == "wildlifereid10k") return MetadataFormat::kWildlifeReid10k;
  throw std::invalid_argument("unknown metadata format '" + name + "' (auto, animalclef, wildlifereid10k)");
}

std::string metadata_format_name(MetadataFormat format) {
  switch (format) {
    case MetadataFormat::kAnimalClef: return "animalclef";
    case MetadataFormat::kWildlifeReid10k: return "wildlifereid10k";
    default: return "auto";
  }
}

MetadataFormat detect_metadata_format(const CsvTable& table) {
  if (table.column("cluster_id") >= 0 || table.column("image_id") < 0) return MetadataFormat::kWildlifeReid10k;
  return MetadataFormat::kAnimalClef;
}

void check_relative_path(const std::string& p, const std::string& where) {
  if (p.empty()) throw CsvError(where + ": empty path");
  if (p.front() == '/' || p.front() == '\\' || (p.size() > 1 && p[1] == ':'))
    throw CsvError(where + ": path '" + p + "' is absolute; paths must be relative to the image root");
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find_first_of("/\\", start);
    if (end == std::string::npos) end = p.size();
    if (p.compare(start, end - start, "..") == 0)
      throw CsvError(where + ": path '" + p + "' escapes the image root ('..')");
    start = end + 1;
  }
}

Metadata parse_metadata(const CsvTable& table, MetadataFormat format) {
  if (format == MetadataFormat::kAuto) format = detect_metadata_format(table);
  const bool clef = format == MetadataFormat::kAnimalClef;
  const std::vector<std::string> required =
      clef ? std::vector<std::string>{"image_id", "identity", "path", "date", "orientation", "species", "split", "dataset"}
           : std::vector<std::string>{"identity", "path", "species", "date", "orientation", "split", "dataset"};
  for (const auto& name : required)
    if (table.column(name) < 0)
      throw CsvError(table.source + ":1: missing column '" + name + "' for the " + metadata_format_name(format) +
                     " format");
  const int c_image_id = table.column("image_id");
  const int c_identity = table.column("identity"), c_path = table.column("path"), c_date = table.column("date");
  const int c_orientation = table.column("orientation"), c_species = table.column("species");
  const int c_split = table.column("split"), c_dataset = table.column("dataset");

  Metadata meta;
  meta.source = table.source;
  meta.format = format;
  std::unordered_map<std::string, size_t> seen_ids;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& f = table.rows[r];
    const std::string where = table.where(r);
    MetadataRow row;
    row.line = table.row_lines[r];
    row.identity = f[c_identity];
    row.path = f[c_path];
    row.date = f[c_date];
    row.orientation = f[c_orientation];
    row.species = f[c_species];
    row.split = f[c_split];
    row.dataset = f[c_dataset];
    row.image_id = c_image_id >= 0 ? f[c_image_id] : std::string();
    check_relative_path(row.path, where);
    if (row.dataset.empty()) throw CsvError(where + ": empty 'dataset'");
    if (clef) {
      if (row.split != "database" && row.split != "query")
        throw CsvError(where + ": split '" + row.split + "' is neither 'database' nor 'query'");
      if (row.split == "database" && row.identity.empty())
        throw CsvError(where + ": database row without an identity");
      if (row.image_id.empty()) throw CsvError(where + ": empty 'image_id'");
    } else {
      if (row.split != "train" && row.split != "test")
        throw CsvError(where + ": split '" + row.split + "' is neither 'train' nor 'test'");
      if (row.identity.empty()) throw CsvError(where + ": row without an identity");
      // WildlifeReID-10k has no image ids: the dataset-qualified path is unique and stable.
      if (row.image_id.empty()) row.image_id = row.dataset + "/" + row.path;
    }
    const auto [it, inserted] = seen_ids.emplace(row.image_id, row.line);
    if (!inserted)
      throw CsvError(where + ": duplicate image_id '" + row.image_id + "' (first on line " +
                     std::to_string(it->second) + ")");
    meta.rows.push_back(std::move(row));
  }
  return meta;
}

Metadata read_metadata(const std::filesystem::path& csv, MetadataFormat format) {
  return parse_metadata(read_csv_file(csv), format);
}

}  // namespace wildreid::data

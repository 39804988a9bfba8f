// JSON (de)serialisation of the manifest with nlohmann::json; the checksum is stored as 8 hex
// digits so it reads the same as `crc32c` tools print it.
#include "data/manifest.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "data/shard_format.h"

namespace wildreid::data {
namespace {

std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

}  // namespace

std::string shard_file_name(size_t shard_index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%05zu.h5", shard_index);
  return buf;
}

void write_manifest(const Manifest& m, const std::filesystem::path& path) {
  nlohmann::ordered_json j;
  j["format"] = "wildreid-shards";
  j["schema_version"] = m.schema_version;
  j["num_records"] = m.num_records;
  j["sources"] = m.sources;
  j["split"] = {{"seed", m.split_seed}, {"val_fraction", m.val_fraction},
                {"rule", "per identity of the labelled rows: n == 1 -> train; else "
                         "n_val = clamp(round(val_fraction * n), 1, n - 1) chosen by a seeded shuffle"}};
  j["skipped_bad"] = m.skipped_bad;
  j["split_counts"] = m.split_counts;
  j["dataset_counts"] = m.dataset_counts;
  j["species_counts"] = m.species_counts;
  auto& labels = j["labels"] = nlohmann::ordered_json::array();
  for (const auto& l : m.labels)
    labels.push_back({{"label", l.label}, {"dataset", l.dataset}, {"identity", l.identity}});
  auto& shards = j["shards"] = nlohmann::ordered_json::array();
  for (const auto& s : m.shards)
    shards.push_back({{"file", s.file}, {"first_record", s.first_record}, {"num_records", s.num_records},
                      {"file_bytes", s.file_bytes}, {"file_crc32c", hex32(s.file_crc32c)}});

  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp + ": cannot write manifest");
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) throw std::runtime_error(tmp + ": write error");
  }
  std::filesystem::rename(tmp, path);
}

Manifest read_manifest(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open manifest (not a shard set?)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": invalid JSON: " + e.what());
  }
  Manifest m;
  try {
    if (j.value("format", "") != "wildreid-shards")
      throw std::runtime_error("\"format\" is not \"wildreid-shards\"");
    m.schema_version = j.at("schema_version").get<int64_t>();
    if (m.schema_version != kShardSchemaVersion)
      throw std::runtime_error("schema_version " + std::to_string(m.schema_version) + ", this build reads " +
                               std::to_string(kShardSchemaVersion));
    m.num_records = j.at("num_records").get<uint64_t>();
    m.sources = j.at("sources").get<std::vector<std::string>>();
    m.split_seed = j.at("split").at("seed").get<uint64_t>();
    m.val_fraction = j.at("split").at("val_fraction").get<double>();
    m.skipped_bad = j.value("skipped_bad", uint64_t{0});
    m.split_counts = j.at("split_counts").get<std::map<std::string, uint64_t>>();
    m.dataset_counts = j.at("dataset_counts").get<std::map<std::string, uint64_t>>();
    m.species_counts = j.at("species_counts").get<std::map<std::string, uint64_t>>();
    for (const auto& l : j.at("labels"))
      m.labels.push_back({l.at("label").get<int64_t>(), l.at("dataset").get<std::string>(),
                          l.at("identity").get<std::string>()});
    for (size_t i = 0; i < m.labels.size(); ++i)
      if (m.labels[i].label != static_cast<int64_t>(i))
        throw std::runtime_error("labels are not 0..n-1 in order (entry " + std::to_string(i) + ")");
    uint64_t next = 0;
    for (const auto& s : j.at("shards")) {
      ShardEntry e;
      e.file = s.at("file").get<std::string>();
      e.first_record = s.at("first_record").get<uint64_t>();
      e.num_records = s.at("num_records").get<uint64_t>();
      e.file_bytes = s.at("file_bytes").get<uint64_t>();
      e.file_crc32c = static_cast<uint32_t>(std::stoul(s.at("file_crc32c").get<std::string>(), nullptr, 16));
      if (e.file.find('/') != std::string::npos || e.file.find("..") != std::string::npos)
        throw std::runtime_error("shard file name '" + e.file + "' is not a plain file name");
      if (e.first_record != next)
        throw std::runtime_error("shard " + e.file + " starts at record " + std::to_string(e.first_record) +
                                 ", expected " + std::to_string(next));
      next += e.num_records;
      m.shards.push_back(e);
    }
    if (next != m.num_records)
      throw std::runtime_error("shards hold " + std::to_string(next) + " records, num_records says " +
                               std::to_string(m.num_records));
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  return m;
}

}  // namespace wildreid::data

// Whole-file checksums first (cheap, catch any flipped byte including HDF5 metadata), then the
// set is opened through ShardSet (the same code path training uses) and every record is read,
// which verifies its CRC32C. A shard that fails its file checksum is still read record by record
// so the report can say which records are affected.
#include "data/inspect.h"

#include <cstdio>
#include <sstream>

#include "data/crc32c.h"
#include "data/progress.h"
#include "data/shard_format.h"
#include "data/shard_reader.h"

namespace wildreid::data {

InspectReport inspect_shards(const std::filesystem::path& dir, bool quiet) {
  InspectReport report;
  report.manifest = read_manifest(dir / kManifestFile);
  const Manifest& m = report.manifest;
  for (const auto& s : m.shards) {
    const auto path = dir / s.file;
    try {
      const auto bytes = std::filesystem::file_size(path);
      if (bytes != s.file_bytes)
        report.failures.push_back(path.string() + ": size " + std::to_string(bytes) + " bytes, manifest says " +
                                  std::to_string(s.file_bytes));
      const uint32_t crc = crc32c_file(path);
      if (crc != s.file_crc32c) {
        char msg[96];
        std::snprintf(msg, sizeof msg, ": file checksum mismatch (manifest %08x, file %08x)", s.file_crc32c, crc);
        report.failures.push_back(path.string() + msg);
      }
    } catch (const std::exception& e) {
      report.failures.push_back(path.string() + ": " + e.what());
    }
  }
  std::shared_ptr<ShardSet> set;
  try {
    set = ShardSet::open(dir);
  } catch (const std::exception& e) {
    report.failures.push_back(std::string("cannot open shard set: ") + e.what());
    return report;
  }
  Progress progress("inspect", set->size(), quiet);
  for (size_t i = 0; i < set->size(); ++i) {
    const RecordInfo& r = set->info(i);
    ++report.records;
    ++report.split_counts[r.split];
    ++report.dataset_counts[r.dataset];
    ++report.species_counts[r.species];
    ++report.dataset_split_counts[r.dataset][r.split];
    try {
      set->read_bytes(i);
    } catch (const std::exception& e) {
      report.failures.push_back(e.what());
    }
    progress.advance();
  }
  progress.finish();
  if (report.split_counts != m.split_counts) report.failures.push_back("per-split counts differ from the manifest");
  if (report.dataset_counts != m.dataset_counts) report.failures.push_back("per-dataset counts differ from the manifest");
  if (report.species_counts != m.species_counts) report.failures.push_back("per-species counts differ from the manifest");
  return report;
}

std::string format_inspect_report(const InspectReport& r) {
  std::ostringstream out;
  out << "shard set: " << r.manifest.shards.size() << " shards, " << r.records << " records, "
      << r.manifest.labels.size() << " labels (train identities)";
  if (r.manifest.skipped_bad) out << ", " << r.manifest.skipped_bad << " bad inputs skipped at pack time";
  out << "\n";
  const auto table = [&](const char* title, const std::map<std::string, uint64_t>& counts) {
    out << title << ":\n";
    for (const auto& [k, v] : counts) out << "  " << (k.empty() ? "(empty)" : k) << ": " << v << "\n";
  };
  table("split", r.split_counts);
  table("dataset", r.dataset_counts);
  table("species", r.species_counts);
  out << "dataset x split:\n";
  for (const auto& [dataset, splits] : r.dataset_split_counts) {
    out << "  " << dataset << ":";
    for (const auto& [split, n] : splits) out << " " << split << "=" << n;
    out << "\n";
  }
  if (r.ok()) {
    out << "checksums: all " << r.manifest.shards.size() << " shard files and " << r.records << " records verified\n";
  } else {
    out << "FAILED: " << r.failures.size() << " problem(s):\n";
    for (const auto& f : r.failures) out << "  " << f << "\n";
  }
  return out.str();
}

}  // namespace wildreid::data

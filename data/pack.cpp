// The pack pipeline. Images are processed in batches (a few per thread) whose results are stored
// by index, so the shards are byte-identical whatever --threads is. Test hook: the environment
// variable WILDREID_PACK_KILL_AFTER_SHARDS=N makes the process SIGKILL itself after N shards are
// written, to prove an interrupted pack leaves no valid-looking set.
#include "data/pack.h"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <thread>

#include "data/crc32c.h"
#include "data/image_prepare.h"
#include "data/parallel_for.h"
#include "data/progress.h"
#include "data/shard_format.h"
#include "data/shard_writer.h"
#include "data/split.h"
#include "data/staging_dir.h"

namespace wildreid::data {
namespace {

struct PendingRecord {
  RecordInfo info;
  std::filesystem::path file;
  std::string where;  // "<csv>:<line>"
};

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw BadImage("missing file (or not a regular file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadImage("cannot open for reading");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw BadImage("read error");
  return bytes;
}

int kill_after_shards() {
  const char* v = std::getenv("WILDREID_PACK_KILL_AFTER_SHARDS");
  return v ? std::atoi(v) : -1;
}

}  // namespace

PackReport pack_shards(const PackOptions& options) {
  if (options.inputs.empty()) throw std::runtime_error("pack: no --metadata given");
  if (options.shard_size == 0) throw std::runtime_error("pack: --shard-size must be > 0");
  const int threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());

  // 1. Metadata of every input, validated before any image is read.
  std::vector<PendingRecord> pending;
  std::vector<SplitItem> items;
  std::vector<std::string> sources;
  for (const auto& input : options.inputs) {
    const Metadata meta = read_metadata(input.metadata, input.format);
    const auto root = input.root.empty() ? input.metadata.parent_path() : input.root;
    sources.push_back(input.metadata.string());
    const bool clef = meta.format == MetadataFormat::kAnimalClef;
    for (const auto& row : meta.rows) {
      PendingRecord r;
      r.info.image_id = row.image_id;
      r.info.identity = row.identity;
      r.info.species = row.species;
      r.info.dataset = row.dataset;
      r.info.orientation = row.orientation;
      r.info.date = row.date;
      r.file = root / row.path;
      r.where = meta.source + ":" + std::to_string(row.line);
      SplitItem item{row.dataset, row.identity, row.image_id, true, ""};
      if (clef && row.split == "query") item = {row.dataset, row.identity, row.image_id, false, "query"};
      if (!clef && row.split == "test") item = {row.dataset, row.identity, row.image_id, false, "test"};
      items.push_back(std::move(item));
      pending.push_back(std::move(r));
    }
  }

  // 2. Split and labels over all inputs together.
  const auto splits = seed_split(items, {options.seed, options.val_fraction});
  const LabelMap labels = build_label_map(items, splits);
  for (size_t i = 0; i < pending.size(); ++i) {
    pending[i].info.split = splits[i];
    const auto it = labels.find({items[i].dataset, items[i].identity});
    pending[i].info.label = it == labels.end() ? -1 : it->second;
  }

  Manifest manifest;
  manifest.schema_version = kShardSchemaVersion;
  manifest.sources = sources;
  manifest.split_seed = options.seed;
  manifest.val_fraction = options.val_fraction;
  for (const auto& [key, label] : labels) manifest.labels.push_back({label, key.first, key.second});
  std::string source_attr;
  for (const auto& s : sources) source_attr += (source_attr.empty() ? "" : ";") + s;

  // 3. Images in ordered batches -> shards in the staging folder.
  StagingDir staging(options.out, options.overwrite);
  PackReport report;
  const ImagePrepareOptions image_options{options.max_side, options.jpeg_quality};
  const size_t batch = static_cast<size_t>(std::max(16, 8 * threads));
  const int kill_after = kill_after_shards();
  std::vector<ShardRecord> shard;
  uint64_t shard_bytes = 0;
  const auto flush = [&] {
    if (shard.empty()) return;
    ShardEntry entry;
    entry.file = shard_file_name(manifest.shards.size());
    entry.first_record = manifest.num_records;
    entry.num_records = shard.size();
    const auto path = staging.path() / entry.file;
    entry.file_bytes = write_shard(path, shard, static_cast<int64_t>(entry.first_record), source_attr);
    entry.file_crc32c = crc32c_file(path);
    manifest.num_records += shard.size();
    manifest.shards.push_back(entry);
    shard.clear();
    shard_bytes = 0;
    if (kill_after >= 0 && static_cast<int>(manifest.shards.size()) >= kill_after) std::raise(SIGKILL);
  };

  Progress progress("pack", pending.size(), options.quiet);
  for (size_t start = 0; start < pending.size(); start += batch) {
    const size_t count = std::min(batch, pending.size() - start);
    std::vector<std::optional<std::vector<uint8_t>>> bytes(count);
    std::vector<std::string> errors(count);
    parallel_for(count, threads, [&](size_t k) {
      const auto& r = pending[start + k];
      try {
        bytes[k] = prepare_image(read_file(r.file), image_options);
      } catch (const BadImage& e) {
        errors[k] = r.file.string() + " (" + r.where + ", image_id " + r.info.image_id + "): " + e.what();
      } catch (const std::exception& e) {  // e.g. bad_alloc, OpenCV errors
        errors[k] = r.file.string() + " (" + r.where + ", image_id " + r.info.image_id + "): " + e.what();
      }
    });
    for (size_t k = 0; k < count; ++k) {
      if (!bytes[k]) {
        if (!options.skip_bad) throw std::runtime_error("bad image " + errors[k] + " (use --skip-bad to skip and count)");
        report.skipped.push_back(errors[k]);
        if (!options.quiet) std::fprintf(stderr, "pack: skipping %s\n", errors[k].c_str());
        continue;
      }
      const RecordInfo& info = pending[start + k].info;
      ++manifest.split_counts[info.split];
      ++manifest.dataset_counts[info.dataset];
      ++manifest.species_counts[info.species];
      shard_bytes += bytes[k]->size();
      shard.push_back({info, std::move(*bytes[k])});
      if (shard_bytes >= options.shard_size) flush();
    }
    progress.advance(count);
  }
  flush();
  progress.finish();

  // 4. Manifest last, then the rename that makes the set visible.
  manifest.skipped_bad = report.skipped.size();
  write_manifest(manifest, staging.path() / kManifestFile);
  staging.commit();
  report.manifest = std::move(manifest);
  return report;
}

}  // namespace wildreid::data

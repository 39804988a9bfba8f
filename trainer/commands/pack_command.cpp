// `trainer pack`: glue between CLI11 options and data::pack_shards (data/pack.h). --root and
// --format may be given once (for every --metadata) or once per --metadata, in the same order.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "data/pack.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {
namespace {

// "1048576", "512K", "256M", "2G" -> bytes; throws naming the option on anything else.
uint64_t parse_byte_size(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string suffix = text.substr(used);
  double scale = 1;
  if (suffix == "K" || suffix == "k") scale = 1024.0;
  else if (suffix == "M" || suffix == "m") scale = 1024.0 * 1024.0;
  else if (suffix == "G" || suffix == "g") scale = 1024.0 * 1024.0 * 1024.0;
  else if (!suffix.empty()) used = 0;
  if (used == 0 || !(value * scale >= 1))
    throw std::invalid_argument("pack: --shard-size '" + text + "' is not a positive size (e.g. 1048576, 64M, 1G)");
  return static_cast<uint64_t>(value * scale);
}

}  // namespace

void add_pack(CLI::App& app) {
  struct Options {
    std::vector<std::filesystem::path> metadata, roots;
    std::vector<std::string> formats;
    std::string shard_size = "256M";
    data::PackOptions pack;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "pack",
      "Pack metadata CSV(s) + JPEG folders (AnimalCLEF2025 and/or WildlifeReID-10k) into HDF5 shards with "
      "manifest.json (docs/formats.md). Labelled rows get the seed split (identities with one image -> train; "
      "others n_val = clamp(round(0.2 n), 1, n-1) to val), AnimalCLEF query rows stay 'query', WildlifeReID-10k "
      "test rows stay 'test'. Several inputs get disjoint labels. Output is written under a temporary name and "
      "renamed only when complete; exit 0 only then.");
  cmd->add_option("--metadata", o->metadata, "metadata.csv to pack (repeat for several inputs)")->required();
  cmd->add_option("--root", o->roots,
                  "Image root the CSV paths are relative to: once for all inputs or once per --metadata "
                  "(default: each CSV's folder)");
  cmd->add_option("--format", o->formats,
                  "Metadata layout: auto|animalclef|wildlifereid10k, once for all or once per --metadata "
                  "(default: auto, detected from the header)");
  cmd->add_option("--out", o->pack.out, "Output shard set folder")->required();
  cmd->add_option("--shard-size", o->shard_size,
                  "Target image bytes per shard: a byte count, or with a K/M/G suffix (powers of 1024)")
      ->capture_default_str();
  cmd->add_option("--max-side", o->pack.max_side,
                  "Re-encode images whose longer side exceeds this many pixels (0 = keep original JPEG bytes)")
      ->capture_default_str();
  cmd->add_option("--jpeg-quality", o->pack.jpeg_quality, "JPEG quality of re-encoded images")->capture_default_str();
  cmd->add_option("--threads", o->pack.threads, "Threads reading/validating/encoding images (0 = all cores)")
      ->capture_default_str();
  cmd->add_flag("--skip-bad", o->pack.skip_bad,
                "Skip unreadable/corrupt/missing images and report the count (default: stop at the first)");
  cmd->add_option("--seed", o->pack.seed, "Seed of the train/val split")->capture_default_str();
  cmd->add_option("--val-fraction", o->pack.val_fraction, "Fraction of each identity's images held out for val")
      ->capture_default_str();
  cmd->add_flag("--overwrite", o->pack.overwrite, "Replace --out when it exists (default: refuse)");
  cmd->add_flag("--quiet", o->pack.quiet, "No progress output on stderr");
  cmd->callback([o] {
    const size_t n = o->metadata.size();
    const auto per_input = [n](size_t given, const char* name) {
      if (given > 1 && given != n)
        throw std::invalid_argument(std::string("pack: give ") + name + " once or once per --metadata (" +
                                    std::to_string(n) + "), not " + std::to_string(given) + " times");
    };
    per_input(o->roots.size(), "--root");
    per_input(o->formats.size(), "--format");
    o->pack.shard_size = parse_byte_size(o->shard_size);
    for (size_t i = 0; i < n; ++i) {
      data::PackInput in;
      in.metadata = o->metadata[i];
      if (!o->roots.empty()) in.root = o->roots[o->roots.size() == 1 ? 0 : i];
      if (!o->formats.empty()) in.format = data::parse_metadata_format(o->formats[o->formats.size() == 1 ? 0 : i]);
      o->pack.inputs.push_back(in);
    }
    const auto report = data::pack_shards(o->pack);
    const auto& m = report.manifest;
    std::printf("pack: wrote %s: %llu records in %zu shards, %zu labels", o->pack.out.string().c_str(),
                static_cast<unsigned long long>(m.num_records), m.shards.size(), m.labels.size());
    for (const auto& [split, count] : m.split_counts)
      std::printf(", %s=%llu", split.c_str(), static_cast<unsigned long long>(count));
    std::printf("\n");
    if (!report.skipped.empty())
      std::printf("pack: skipped %zu bad input(s) (--skip-bad)\n", report.skipped.size());
  });
}

}  // namespace wildreid::commands

// `trainer synth`: an AnimalCLEF2025- or WildlifeReID-10k-shaped dataset that tests and the demo
// can train on (the seed pretrains on WildlifeReID-10k, then fine-tunes on AnimalCLEF2025).
// AnimalCLEF2025 layout (written into a staging folder, renamed into --out when complete):
//   metadata.csv            image_id,identity,path,date,orientation,species,split,dataset
//   images/<dataset>/database/<identity>/<image_id>.jpg, images/<dataset>/query/<image_id>.jpg
//   solution.csv            image_id,identity,new_identity,dataset,Usage   (query rows)
//   sample_submission.csv   image_id,identity                              (all new_individual)
// Per dataset: `identities` known individuals with `images` photos each, of which
// max(1, images / 5) go to the query split when images >= 3; and `unknowns` individuals absent
// from the database with max(1, images / 2) query photos each (new_identity = new_individual).
// Quirks of the real metadata are kept: date empty for lynx, orientation empty for turtles,
// species empty on salamander database rows.
// WildlifeReID-10k layout, four datasets none of which is in AnimalCLEF2025 (ZindiTurtleRecall,
// LeopardID2022, HyenaID2022, SealIDSegmented):
//   metadata.csv   identity,path,species,date,orientation,split,dataset,cluster_id   (no image_id:
//                  the reader makes it from dataset + path, as for the real file)
//   images/<dataset>/<identity>/<n>.jpg
// Per dataset: `identities` individuals with `images` photos each, except every 7th individual,
// a singleton with one (train) photo as the real set has many; the last max(1, images / 5) photos
// of the others go to split test when images >= 3; `unknowns` individuals appear only in test
// with max(1, images / 2) photos. cluster_id groups an individual's photos by three (the real
// column groups near-duplicate photos). Dates are empty for ZindiTurtleRecall, orientation for
// SealIDSegmented. Output is byte-identical for a seed at any --threads, in either layout.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace wildreid::data {

enum class SynthLayout { kAnimalClef, kWildlifeReid10k };

// "animalclef", "wildlifereid10k"; throws std::invalid_argument otherwise.
SynthLayout parse_synth_layout(const std::string& name);

struct SynthOptions {
  std::filesystem::path out;
  SynthLayout layout = SynthLayout::kAnimalClef;
  uint64_t seed = 42;
  int identities = 12;   // known individuals per dataset
  int unknowns = 4;      // query-only individuals per dataset
  int images = 6;        // photos per known individual
  int size = 256;        // square image side in pixels
  int threads = 0;       // 0: hardware concurrency
  bool overwrite = false;
  bool quiet = false;
};

// For the WildlifeReID-10k layout "database" means split train and "query" split test.
struct SynthReport {
  size_t database_images = 0;
  size_t query_images = 0;
  size_t known_query_images = 0;
  size_t unknown_query_images = 0;
};

SynthReport synthesize(const SynthOptions& options);

}  // namespace wildreid::data

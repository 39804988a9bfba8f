// `trainer synth`: an AnimalCLEF2025-shaped dataset that tests and the demo can train on.
// Layout (written into a staging folder, renamed into --out when complete):
//   metadata.csv            image_id,identity,path,date,orientation,species,split,dataset
//   images/<dataset>/database/<identity>/<image_id>.jpg, images/<dataset>/query/<image_id>.jpg
//   solution.csv            image_id,identity,new_identity,dataset,Usage   (query rows)
//   sample_submission.csv   image_id,identity                              (all new_individual)
// Per dataset: `identities` known individuals with `images` photos each, of which
// max(1, images / 5) go to the query split when images >= 3; and `unknowns` individuals absent
// from the database with max(1, images / 2) query photos each (new_identity = new_individual).
// Quirks of the real metadata are kept: date empty for lynx, orientation empty for turtles,
// species empty on salamander database rows. Output is byte-identical for a seed at any --threads.
#pragma once
#include <cstdint>
#include <filesystem>

namespace wildreid::data {

struct SynthOptions {
  std::filesystem::path out;
  uint64_t seed = 42;
  int identities = 12;   // known individuals per dataset
  int unknowns = 4;      // query-only individuals per dataset
  int images = 6;        // photos per known individual
  int size = 256;        // square image side in pixels
  int threads = 0;       // 0: hardware concurrency
  bool overwrite = false;
  bool quiet = false;
};

struct SynthReport {
  size_t database_images = 0;
  size_t query_images = 0;
  size_t known_query_images = 0;
  size_t unknown_query_images = 0;
};

SynthReport synthesize(const SynthOptions& options);

}  // namespace wildreid::data

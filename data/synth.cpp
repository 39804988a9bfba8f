// Planning (ids, paths, metadata values; one planner per layout) is sequential and cheap;
// rendering is parallel with results written to distinct files, each image drawn from its own
// RNG stream.
#include "data/synth.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "data/csv_reader.h"
#include "data/parallel_for.h"
#include "data/progress.h"
#include "data/staging_dir.h"
#include "data/synth_render.h"
#include "data/synth_rng.h"

namespace wildreid::data {
namespace {

struct SynthDataset {
  const char* name;
  const char* species;
  SynthSpecies kind;
};

constexpr SynthDataset kClefDatasets[] = {
    {"SeaTurtleID2022", "loggerhead turtle", SynthSpecies::kTurtle},
    {"SalamanderID2025", "salamander", SynthSpecies::kSalamander},
    {"LynxID2025", "lynx", SynthSpecies::kLynx},
};

constexpr SynthDataset kWildlifeReid10kDatasets[] = {
    {"ZindiTurtleRecall", "sea turtle", SynthSpecies::kTurtle},
    {"LeopardID2022", "leopard", SynthSpecies::kLynx},
    {"HyenaID2022", "spotted hyena", SynthSpecies::kLynx},
    {"SealIDSegmented", "ringed seal", SynthSpecies::kSalamander},
};

// Render streams of the WildlifeReID-10k layout start here, so its individuals are never those
// of the AnimalCLEF layout with the same seed (a pretraining set must not contain the test set).
constexpr uint64_t kWildlifeReid10kStream = 100;

struct Photo {
  uint64_t stream = 0;  // dataset's render stream
  SynthSpecies kind = SynthSpecies::kTurtle;
  int individual = 0;   // >= identities: unknown
  int index = 0;
  bool query = false;   // AnimalCLEF query / WildlifeReID-10k test
  bool known = true;
  std::string image_id, identity, path, date, orientation, species, dataset, cluster_id;
};

std::string identity_name(size_t dataset, int individual) {
  char buf[64];
  if (dataset == 0) std::snprintf(buf, sizeof buf, "SeaTurtleID2022_t%03d", individual + 1);
  else if (dataset == 1) std::snprintf(buf, sizeof buf, "SalamanderID2025_%04d", individual + 1);
  else std::snprintf(buf, sizeof buf, "LynxID2025_lynx_%02d", individual + 1);
  return buf;
}

std::string random_date(SynthRng& rng) {
  char date[16];
  std::snprintf(date, sizeof date, "20%02d-%02d-%02d", rng.range(12, 24), rng.range(1, 12), rng.range(1, 28));
  return date;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error(path.string() + ": write failed");
}

std::vector<Photo> plan_animalclef(const SynthOptions& o) {
  std::vector<Photo> photos;
  const int known_query = o.images >= 3 ? std::max(1, o.images / 5) : 0;
  const int unknown_photos = std::max(1, o.images / 2);
  for (size_t d = 0; d < std::size(kClefDatasets); ++d) {
    std::vector<Photo> database, query;
    for (int ind = 0; ind < o.identities + o.unknowns; ++ind) {
      const bool known = ind < o.identities;
      const int count = known ? o.images : unknown_photos;
      for (int k = 0; k < count; ++k) {
        Photo p;
        p.stream = d + 1;
        p.kind = kClefDatasets[d].kind;
        p.individual = ind;
        p.index = k;
        p.query = !known || k >= count - known_query;
        p.known = known;
        p.identity = identity_name(d, ind);
        p.dataset = kClefDatasets[d].name;
        SynthRng meta = SynthRng::stream(o.seed, d + 1, static_cast<uint64_t>(ind) + 1, static_cast<uint64_t>(k) + 1000003);
        if (d != 2) p.date = random_date(meta);
        if (d == 1) p.orientation = meta.chance(0.8) ? "top" : "bottom";
        if (d == 2) p.orientation = meta.chance(0.5) ? "left" : "right";
        p.species = (d == 1 && !p.query) ? "" : kClefDatasets[d].species;
        (p.query ? query : database).push_back(std::move(p));
      }
    }
    for (auto* list : {&database, &query})
      for (auto& p : *list) photos.push_back(std::move(p));
  }
  for (size_t i = 0; i < photos.size(); ++i) {
    Photo& p = photos[i];
    p.image_id = std::to_string(i);
    p.path = "images/" + p.dataset + (p.query ? "/query" : "/database/" + p.identity) + "/" + p.image_id + ".jpg";
  }
  return photos;
}

std::vector<Photo> plan_wildlifereid10k(const SynthOptions& o) {
  std::vector<Photo> photos;
  const char* orientations[] = {"left", "right", "front", "back"};
  int cluster = 0;
  for (size_t d = 0; d < std::size(kWildlifeReid10kDatasets); ++d) {
    const SynthDataset& ds = kWildlifeReid10kDatasets[d];
    const uint64_t stream = kWildlifeReid10kStream + d + 1;
    for (int ind = 0; ind < o.identities + o.unknowns; ++ind) {
      const bool known = ind < o.identities;
      const bool singleton = known && ind % 7 == 6;
      const int count = singleton ? 1 : known ? o.images : std::max(1, o.images / 2);
      const int test = !known ? count : count >= 3 ? std::max(1, count / 5) : 0;
      char identity[64];
      std::snprintf(identity, sizeof identity, "%s_%04d", ds.name, ind + 1);
      for (int k = 0; k < count; ++k) {
        Photo p;
        p.stream = stream;
        p.kind = ds.kind;
        p.individual = ind;
        p.index = k;
        p.query = k >= count - test;
        p.known = known;
        p.identity = identity;
        p.dataset = ds.name;
        p.species = ds.species;
        p.path = "images/" + p.dataset + "/" + p.identity + "/" + std::to_string(k) + ".jpg";
        p.image_id = p.dataset + "/" + p.path;  // what the reader makes of a row without image_id
        if (k % 3 == 0) ++cluster;
        p.cluster_id = std::to_string(cluster);
        SynthRng meta = SynthRng::stream(o.seed, stream, static_cast<uint64_t>(ind) + 1, static_cast<uint64_t>(k) + 1000003);
        if (d != 0) p.date = random_date(meta);
        if (d != 3) p.orientation = orientations[meta.range(0, d == 0 ? 1 : 3)];
        photos.push_back(std::move(p));
      }
    }
  }
  return photos;
}

}  // namespace

SynthLayout parse_synth_layout(const std::string& name) {
  if (name == "animalclef") return SynthLayout::kAnimalClef;
  if (name == "wildlifereid10k") return SynthLayout::kWildlifeReid10k;
  throw std::invalid_argument("synth: layout '" + name + "' is neither 'animalclef' nor 'wildlifereid10k'");
}

SynthReport synthesize(const SynthOptions& o) {
  if (o.identities < 1 || o.unknowns < 0 || o.images < 1 || o.size < 32)
    throw std::invalid_argument("synth: need --identities >= 1, --unknowns >= 0, --images >= 1, --size >= 32");
  const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  const bool clef = o.layout == SynthLayout::kAnimalClef;
  StagingDir staging(o.out, o.overwrite);

  const std::vector<Photo> photos = clef ? plan_animalclef(o) : plan_wildlifereid10k(o);
  SynthReport report;
  for (const Photo& p : photos) {
    std::filesystem::create_directories((staging.path() / p.path).parent_path());
    if (p.query) {
      ++report.query_images;
      ++(p.known ? report.known_query_images : report.unknown_query_images);
    } else {
      ++report.database_images;
    }
  }

  Progress progress("synth", photos.size(), o.quiet);
  const size_t batch = static_cast<size_t>(std::max(16, 8 * threads));
  for (size_t start = 0; start < photos.size(); start += batch) {
    const size_t count = std::min(batch, photos.size() - start);
    parallel_for(count, threads, [&](size_t k) {
      const Photo& p = photos[start + k];
      const auto individual_seed = SynthRng::stream(o.seed, p.stream, static_cast<uint64_t>(p.individual) + 1, 0).next();
      const auto photo_seed = SynthRng::stream(o.seed, p.stream, static_cast<uint64_t>(p.individual) + 1,
                                               static_cast<uint64_t>(p.index) + 1).next();
      const auto jpeg = render_synth_photo(p.kind, individual_seed, photo_seed, o.size);
      std::ofstream out(staging.path() / p.path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
      out.flush();
      if (!out) throw std::runtime_error((staging.path() / p.path).string() + ": write failed");
    });
    progress.advance(count);
  }
  progress.finish();

  if (!clef) {
    std::string metadata =
        csv_row({"identity", "path", "species", "date", "orientation", "split", "dataset", "cluster_id"});
    for (const Photo& p : photos)
      metadata += csv_row({p.identity, p.path, p.species, p.date, p.orientation, p.query ? "test" : "train",
                           p.dataset, p.cluster_id});
    write_text(staging.path() / "metadata.csv", metadata);
    staging.commit();
    return report;
  }
  std::string metadata = csv_row({"image_id", "identity", "path", "date", "orientation", "species", "split", "dataset"});
  std::string solution = csv_row({"image_id", "identity", "new_identity", "dataset", "Usage"});
  std::string sample = csv_row({"image_id", "identity"});
  for (const Photo& p : photos) {
    metadata += csv_row({p.image_id, p.query ? "" : p.identity, p.path, p.date, p.orientation, p.species,
                         p.query ? "query" : "database", p.dataset});
    if (!p.query) continue;
    SynthRng usage = SynthRng::stream(o.seed, p.stream, static_cast<uint64_t>(p.individual) + 1,
                                      static_cast<uint64_t>(p.index) + 2000003);
    solution += csv_row({p.image_id, p.identity, p.known ? p.identity : "new_individual", p.dataset,
                         usage.chance(0.5) ? "Public" : "Private"});
    sample += csv_row({p.image_id, "new_individual"});
  }
  write_text(staging.path() / "metadata.csv", metadata);
  write_text(staging.path() / "solution.csv", solution);
  write_text(staging.path() / "sample_submission.csv", sample);
  staging.commit();
  return report;
}

}  // namespace wildreid::data

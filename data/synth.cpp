// Planning (ids, paths, metadata values) is sequential and cheap; rendering is parallel with
// results written to distinct files, each image drawn from its own RNG stream.
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

constexpr SynthDataset kDatasets[] = {
    {"SeaTurtleID2022", "loggerhead turtle", SynthSpecies::kTurtle},
    {"SalamanderID2025", "salamander", SynthSpecies::kSalamander},
    {"LynxID2025", "lynx", SynthSpecies::kLynx},
};

struct Photo {
  size_t dataset;
  int individual;  // >= identities: unknown
  int index;
  bool query;
  bool known;
  std::string image_id, identity, path, date, orientation, species;
};

std::string identity_name(size_t dataset, int individual) {
  char buf[64];
  if (dataset == 0) std::snprintf(buf, sizeof buf, "SeaTurtleID2022_t%03d", individual + 1);
  else if (dataset == 1) std::snprintf(buf, sizeof buf, "SalamanderID2025_%04d", individual + 1);
  else std::snprintf(buf, sizeof buf, "LynxID2025_lynx_%02d", individual + 1);
  return buf;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error(path.string() + ": write failed");
}

}  // namespace

SynthReport synthesize(const SynthOptions& o) {
  if (o.identities < 1 || o.unknowns < 0 || o.images < 1 || o.size < 32)
    throw std::invalid_argument("synth: need --identities >= 1, --unknowns >= 0, --images >= 1, --size >= 32");
  const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  StagingDir staging(o.out, o.overwrite);

  std::vector<Photo> photos;
  SynthReport report;
  const int known_query = o.images >= 3 ? std::max(1, o.images / 5) : 0;
  const int unknown_photos = std::max(1, o.images / 2);
  for (size_t d = 0; d < std::size(kDatasets); ++d) {
    std::vector<Photo> database, query;
    for (int ind = 0; ind < o.identities + o.unknowns; ++ind) {
      const bool known = ind < o.identities;
      const int count = known ? o.images : unknown_photos;
      for (int k = 0; k < count; ++k) {
        Photo p{d, ind, k, !known || k >= count - known_query, known, "", identity_name(d, ind), "", "", "", ""};
        SynthRng meta = SynthRng::stream(o.seed, d + 1, static_cast<uint64_t>(ind) + 1, static_cast<uint64_t>(k) + 1000003);
        if (d != 2) {
          char date[16];
          std::snprintf(date, sizeof date, "20%02d-%02d-%02d", meta.range(12, 24), meta.range(1, 12), meta.range(1, 28));
          p.date = date;
        }
        if (d == 1) p.orientation = meta.chance(0.8) ? "top" : "bottom";
        if (d == 2) p.orientation = meta.chance(0.5) ? "left" : "right";
        p.species = (d == 1 && !p.query) ? "" : kDatasets[d].species;
        (p.query ? query : database).push_back(std::move(p));
      }
    }
    for (auto* list : {&database, &query})
      for (auto& p : *list) photos.push_back(std::move(p));
  }
  for (size_t i = 0; i < photos.size(); ++i) {
    Photo& p = photos[i];
    p.image_id = std::to_string(i);
    const std::string dir = std::string("images/") + kDatasets[p.dataset].name +
                            (p.query ? "/query" : "/database/" + p.identity);
    p.path = dir + "/" + p.image_id + ".jpg";
    std::filesystem::create_directories(staging.path() / dir);
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
      const auto individual_seed = SynthRng::stream(o.seed, p.dataset + 1, static_cast<uint64_t>(p.individual) + 1, 0).next();
      const auto photo_seed = SynthRng::stream(o.seed, p.dataset + 1, static_cast<uint64_t>(p.individual) + 1,
                                               static_cast<uint64_t>(p.index) + 1).next();
      const auto jpeg = render_synth_photo(kDatasets[p.dataset].kind, individual_seed, photo_seed, o.size);
      std::ofstream out(staging.path() / p.path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
      out.flush();
      if (!out) throw std::runtime_error((staging.path() / p.path).string() + ": write failed");
    });
    progress.advance(count);
  }
  progress.finish();

  std::string metadata = csv_row({"image_id", "identity", "path", "date", "orientation", "species", "split", "dataset"});
  std::string solution = csv_row({"image_id", "identity", "new_identity", "dataset", "Usage"});
  std::string sample = csv_row({"image_id", "identity"});
  for (const Photo& p : photos) {
    metadata += csv_row({p.image_id, p.query ? "" : p.identity, p.path, p.date, p.orientation, p.species,
                         p.query ? "query" : "database", kDatasets[p.dataset].name});
    if (!p.query) continue;
    SynthRng usage = SynthRng::stream(o.seed, p.dataset + 1, static_cast<uint64_t>(p.individual) + 1,
                                      static_cast<uint64_t>(p.index) + 2000003);
    solution += csv_row({p.image_id, p.identity, p.known ? p.identity : "new_individual", kDatasets[p.dataset].name,
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

// local_matching: the matching pipeline's throughput on synthetic photos (data/synth_render.h),
// side by side with its baseline in the same run (GUIDE §6).
//  --what sift   SIFT extraction images/s and SIFT + mutual-NN ratio matching pairs/s, ours vs
//                Python OpenCV (tools/bench_opencv_sift.py: cv2.SIFT + RootSIFT, BFMatcher kNN k=2
//                both ways, mutual + ratio) on the same JPEG files and core count.
//  --what wall   AnimalCLEF-sized local matching: --queries (2,135) queries, each against a
//                shortlist of --shortlist (100) images of a --database (13,074) image set, through
//                LocalPipeline with its feature cache: extraction and matching wall time, and what
//                --estimate-shortlist (700) would cost (same extraction, matching scaled by pairs).
//                --sample-queries N times N queries only and scales matching up (LightGlue on CPU).
// Photos are rendered from their id (before timing), so no dataset is needed.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/bench_args.h"
#include "data/parallel_for.h"
#include "data/remove_tree.h"
#include "data/synth_render.h"
#include "matching/local_pipeline.h"
#include "matching/ratio_matcher.h"
#include "matching/worker_threads.h"

namespace {

using namespace wildreid;
using namespace wildreid::matching;

struct Args {
  std::string what = "sift";
  int threads = 2;
  int64_t images = 48, pairs = 480, photo_size = 384;
  int64_t queries = 2135, shortlist = 100, database = 13074, estimate_shortlist = 700, sample_queries = 0;
  std::map<std::string, std::string> pipeline{{"extractor", "sift"}, {"matcher", "ratio"}};
  std::string python_path;
};

void usage() {
  std::printf(
      "local_matching [options]\n"
      "  --what sift|wall         benchmark (default sift)\n"
      "  --threads N              cores on both sides (default 2)\n"
      " sift:  --images N (48) --pairs N (480) --photo-size PX (384)\n"
      " wall:  --queries N (2135) --shortlist B (100) --database N (13074) --estimate-shortlist B (700)\n"
      "        --sample-queries N (0 = all) --option key=value (pipeline options, default extractor=sift\n"
      "        matcher=ratio)\n"
      "  --python PATH            interpreter with opencv-python-headless (default $WILDREID_PYTHON)\n");
}

Args parse(int argc, char** argv) {
  Args a;
  a.python_path = wildreid::bench::python_interpreter(WILDREID_PYTHON_DEFAULT);
  for (wildreid::bench::ArgWalker args(argc, argv); args.next();) {
    const std::string k = args.key();
    auto next = [&args] { return args.value(); };
    if (k == "--what") a.what = next();
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--images") a.images = std::stoll(next());
    else if (k == "--pairs") a.pairs = std::stoll(next());
    else if (k == "--photo-size") a.photo_size = std::stoll(next());
    else if (k == "--queries") a.queries = std::stoll(next());
    else if (k == "--shortlist") a.shortlist = std::stoll(next());
    else if (k == "--database") a.database = std::stoll(next());
    else if (k == "--estimate-shortlist") a.estimate_shortlist = std::stoll(next());
    else if (k == "--sample-queries") a.sample_queries = std::stoll(next());
    else if (k == "--option") {
      const std::string kv = next();
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) throw std::runtime_error("--option needs key=value");
      a.pipeline[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (k == "--python") a.python_path = next();
    else if (k == "--help" || k == "-h") {
      usage();
      std::exit(0);
    } else throw std::runtime_error("unknown option " + k + " (see --help)");
  }
  return a;
}

// Photo `index` of a synthetic population: 4 photos per individual, species in turn.
std::vector<uint8_t> photo_jpeg(int64_t index, int64_t size) {
  const auto species = static_cast<data::SynthSpecies>(index % 3);
  return data::render_synth_photo(species, 1000 + index / 4, 7 + index, static_cast<int>(size));
}

// Photos "q<i>" / "d<i>" as JPEG bytes rendered up front (in parallel, before any timing), so the
// timed work is what a shard set costs: decode, resize, extract.
class SynthImageSource : public ImageSource {
 public:
  SynthImageSource(const std::vector<std::string>& ids, int64_t size, int threads) {
    std::vector<std::vector<uint8_t>> bytes(ids.size());
    data::parallel_for(ids.size(), threads,
                       [&](size_t i) { bytes[i] = photo_jpeg(std::stoll(ids[i].substr(1)), size); });
    for (size_t i = 0; i < ids.size(); ++i) jpeg_.emplace(ids[i], std::move(bytes[i]));
  }
  cv::Mat load(const std::string& id, int64_t long_side) const override {
    const auto& jpeg = jpeg_.at(id);
    return decode_for_size(jpeg.data(), jpeg.size(), long_side, id);
  }
  bool contains(const std::string& id) const override { return jpeg_.count(id) > 0; }

 private:
  std::unordered_map<std::string, std::vector<uint8_t>> jpeg_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void bench_sift(const Args& a) {
  const auto dir = std::filesystem::temp_directory_path() / ("wildreid_bench_sift_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::string> files;
  for (int64_t i = 0; i < a.images; ++i) {
    const auto jpeg = photo_jpeg(i, a.photo_size);
    files.push_back((dir / ("p" + std::to_string(i) + ".jpg")).string());
    std::ofstream(files.back(), std::ios::binary).write(reinterpret_cast<const char*>(jpeg.data()), jpeg.size());
  }
  std::mt19937_64 rng(5);
  std::ofstream pairs_file(dir / "pairs.txt");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int64_t p = 0; p < a.pairs; ++p) {
    const int64_t i = rng() % a.images, j = rng() % a.images;
    pairs.emplace_back(files[i], files[j]);
    pairs_file << i << " " << j << "\n";
  }
  pairs_file.close();
  // Baseline first (same files, same pairs).
  const std::string cmd = "'" + a.python_path + "' '" WILDREID_SOURCE_DIR "/tools/bench_opencv_sift.py' --dir '" +
                          dir.string() + "' --images " + std::to_string(a.images) + " --threads " +
                          std::to_string(a.threads);
  FILE* p = ::popen(cmd.c_str(), "r");
  double cv_extract = 0, cv_match = 0, cv_matches = 0;
  if (!p || std::fscanf(p, "%lf %lf %lf", &cv_extract, &cv_match, &cv_matches) != 3 || ::pclose(p) != 0)
    throw std::runtime_error("OpenCV baseline failed: " + cmd);

  LocalPipelineOptions o = parse_pipeline_options(a.pipeline, "bench");
  o.threads = a.threads;
  o.progress = false;
  LocalPipeline pipeline(o, file_image_source(), "bench");
  auto t0 = std::chrono::steady_clock::now();
  pipeline.ensure_features(files);
  const double extract = a.images / seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto scores = pipeline.score_pairs(pairs);
  const double match = a.pairs / seconds_since(t0);
  double total = 0;
  for (float s : scores) total += s;
  std::printf("sift images=%lld (%lldpx photos, long side %lld) pairs=%lld threads=%d\n",
              static_cast<long long>(a.images), static_cast<long long>(a.photo_size),
              static_cast<long long>(o.extractor.size), static_cast<long long>(a.pairs), a.threads);
  std::printf("  extraction img/s:     ours=%.2f opencv-python=%.2f ratio=%.3f\n", extract, cv_extract,
              extract / cv_extract);
  std::printf("  matching pairs/s:     ours=%.1f opencv-python=%.1f ratio=%.3f\n", match, cv_match, match / cv_match);
  std::printf("  mean ratio matches per pair (confidence > %.2f): ours=%.1f opencv-python=%.1f\n", o.score.threshold,
              total / a.pairs, cv_matches);
  data::remove_tree(dir);
}

void bench_wall(const Args& a) {
  const auto dir = std::filesystem::temp_directory_path() / ("wildreid_bench_wall_" + std::to_string(::getpid()));
  LocalPipelineOptions o = parse_pipeline_options(a.pipeline, "bench");
  o.threads = a.threads;
  o.cache_dir = dir;
  const int64_t timed_queries = a.sample_queries > 0 ? std::min(a.sample_queries, a.queries) : a.queries;
  std::mt19937_64 rng(11);
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> ids;
  for (int64_t q = 0; q < timed_queries; ++q) {
    ids.push_back("q" + std::to_string(q));
    for (int64_t b = 0; b < a.shortlist; ++b) {
      pairs.emplace_back(ids.back(), "d" + std::to_string(a.queries + rng() % a.database));
      ids.push_back(pairs.back().second);
    }
  }
  std::set<std::string> unique(ids.begin(), ids.end());
  std::fprintf(stderr, "wall: rendering %zu synthetic photos (not timed)\n", unique.size());
  auto photos = std::make_shared<SynthImageSource>(std::vector<std::string>(unique.begin(), unique.end()),
                                                   a.photo_size, a.threads);
  LocalPipeline pipeline(o, photos, "wall");
  auto t0 = std::chrono::steady_clock::now();
  pipeline.ensure_features(ids);
  const double extract = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  pipeline.score_pairs(pairs);
  const double match = seconds_since(t0);
  const double per_pair = match / pairs.size();
  const double all_pairs = double(a.queries) * a.shortlist, est_pairs = double(a.queries) * a.estimate_shortlist;
  // Every query and (at B >= 100 over 13k images) nearly every database image is extracted once.
  const double images_needed = a.queries + a.database * (1.0 - std::pow(1.0 - 1.0 / a.database, all_pairs));
  const double extract_all = timed_queries < a.queries ? extract / unique.size() * images_needed : extract;
  std::printf("wall extractor=%s matcher=%s queries=%lld shortlist=%lld database=%lld threads=%d\n",
              o.extractor.type.c_str(), o.matcher.c_str(), static_cast<long long>(a.queries),
              static_cast<long long>(a.shortlist), static_cast<long long>(a.database), a.threads);
  std::printf("  measured: %zu images extracted in %.1f s (%.2f img/s), %zu pairs matched in %.1f s (%.1f pairs/s)\n",
              unique.size(), extract, unique.size() / extract, pairs.size(), match, pairs.size() / match);
  const char* how = timed_queries < a.queries ? "estimated from the sample" : "measured";
  std::printf("  B=%lld: %.0f pairs, wall %.1f min (%s: extraction %.1f min + matching %.1f min)\n",
              static_cast<long long>(a.shortlist), all_pairs, (extract_all + per_pair * all_pairs) / 60, how,
              extract_all / 60, per_pair * all_pairs / 60);
  std::printf("  B=%lld: %.0f pairs, wall %.1f min (estimated: extraction %.1f min + matching %.1f min)\n",
              static_cast<long long>(a.estimate_shortlist), est_pairs,
              (a.queries + a.database) * extract / unique.size() / 60 + per_pair * est_pairs / 60,
              (a.queries + a.database) * extract / unique.size() / 60, per_pair * est_pairs / 60);
  data::remove_tree(dir);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    at::set_num_threads(a.threads);
    if (a.what == "sift") bench_sift(a);
    else if (a.what == "wall") bench_wall(a);
    else throw std::runtime_error("--what must be sift or wall");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "local_matching: %s\n", e.what());
    return 1;
  }
  return 0;
}

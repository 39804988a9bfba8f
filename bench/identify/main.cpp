// bench_identify: the identification stage at the real AnimalCLEF2025 size on synthetic
// embeddings (13,074 database x 2,135 query images, six 1,536-d models): StandardScaler + PCA(0.99)
// of the six-model concatenation, cosine similarity, top-B shortlist, isotonic calibration and
// WildFusion of two pipelines (the concatenation as priority, one model alone), through
// wildreid's identify library and, in the same run on the same file, split and thread count,
// through numpy / scikit-learn (tools/identify_baseline.py). Prints seconds per step for both,
// the ratios, and how many queries both answer with the same identity.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/remove_tree.h"
#include "identify/embeddings_file.h"
#include "identify/features.h"
#include "identify/pipeline.h"
#include "identify/synthetic_embeddings.h"
#include "identify/wildfusion.h"

using namespace wildreid::identify;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::map<std::string, double> run_baseline(const std::string& python, const fs::path& work, int threads,
                                           int64_t shortlist, int64_t* components) {
  const std::string t = std::to_string(threads);
  const std::string cmd = "OMP_NUM_THREADS=" + t + " OPENBLAS_NUM_THREADS=" + t + " MKL_NUM_THREADS=" + t + " '" +
                          python + "' '" WILDREID_SOURCE_DIR "/tools/identify_baseline.py' --embeddings '" +
                          (work / "E.h5").string() + "' --scenario '" + (work / "scenario.json").string() +
                          "' --out '" + (work / "baseline.json").string() + "' --shortlist " +
                          std::to_string(shortlist);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::map<std::string, double> steps;
  char line[512], name[128];
  double seconds = 0;
  long long k = 0;
  while (std::fgets(line, sizeof line, pipe)) {
    if (std::sscanf(line, "STEP %127s %lf", name, &seconds) == 2) steps[name] = seconds;
    if (std::sscanf(line, "PCA_COMPONENTS %lld", &k) == 1) *components = k;
  }
  const int rc = pclose(pipe);
  if (rc != 0 || steps.size() != 3) throw std::runtime_error("baseline failed (exit " + std::to_string(rc) + "): " + cmd);
  return steps;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Identification benchmark: wildreid identify vs numpy/scikit-learn at the AnimalCLEF2025 size "
               "on synthetic embeddings, seconds per step and ratio"};
  int64_t database = 13074, queries = 2135, dim = 1536, models = 6, shortlist = 100, latent = 256;
  int threads = 2;
  std::string python = WILDREID_DEFAULT_PYTHON, work_dir;
  if (const char* env = std::getenv("WILDREID_PYTHON")) python = env;
  bool keep = false, no_baseline = false;
  app.add_option("--database", database, "Database images")->capture_default_str();
  app.add_option("--queries", queries, "Query images")->capture_default_str();
  app.add_option("--dim", dim, "Embedding width of each model")->capture_default_str();
  app.add_option("--models", models, "Models concatenated in the second pipeline")->capture_default_str();
  app.add_option("--latent", latent, "Latent dimension of the synthetic individuals")->capture_default_str();
  app.add_option("--shortlist", shortlist, "WildFusion shortlist B")->capture_default_str();
  app.add_option("--threads", threads, "Threads for both sides (LibTorch intra-op; OMP/OpenBLAS/MKL)")
      ->capture_default_str();
  app.add_option("--python", python, "Python with numpy, scikit-learn, h5py (default: $WILDREID_PYTHON)")
      ->capture_default_str();
  app.add_option("--work-dir", work_dir, "Folder for the embeddings file (default: a temporary folder, removed)");
  app.add_flag("--keep", keep, "Keep the work folder");
  app.add_flag("--no-baseline", no_baseline, "Only our side (for profiling): no ratio");
  CLI11_PARSE(app, argc, argv);
  try {
    at::set_num_threads(threads);
    fs::path work = work_dir;
    if (work.empty()) {
      std::string pattern = (fs::temp_directory_path() / "bench-identify-XXXXXX").string();
      if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
      work = pattern;
    }
    fs::create_directories(work);
    const fs::path file = work / "E.h5";
    if (!fs::exists(file)) {
      const auto t = Clock::now();
      SyntheticEmbeddingsOptions o;
      o.datasets = 3;
      o.identities = 400;
      o.unknowns = 150;
      o.database_images = database;
      o.query_images = queries;
      o.unknown_share = 0.35;
      o.latent = latent;
      o.dim = dim;
      o.models = models;
      o.photo_noise = 0.8;
      o.model_noise = 0.05;
      write_synthetic_embeddings(make_synthetic_embeddings(o), file.string());
      std::fprintf(stderr, "bench_identify: wrote %s (%.1f s)\n", file.c_str(), since(t));
    }

    // Ours. Loading is reported but not part of the compared steps.
    auto t = Clock::now();
    const Embeddings e = read_embeddings(file);
    const double load_s = since(t);
    const RowTable table(e.rows);
    const Scenario query = query_scenario(table, ScenarioOptions{});
    const Scenario calibration = calibration_scenario(table, ScenarioOptions{});
    std::vector<std::string> concat = e.model_names();
    nlohmann::json scenario = {{"single", concat.front()}, {"concat", concat},
                               {"queries", query.queries}, {"database", query.database},
                               {"calibration_queries", calibration.queries},
                               {"calibration_database", calibration.database}};
    std::ofstream(work / "scenario.json") << scenario.dump();

    std::map<std::string, double> ours;
    t = Clock::now();
    FeatureOptions fc;
    fc.models = concat;
    fc.scaler = true;
    fc.pca = 0.99;
    FeatureReport report;
    GlobalPipeline concatenated("concat", build_features(e, fc, query.database, &report), ShortlistOptions{});
    FeatureOptions fs1;
    fs1.models = {concat.front()};
    GlobalPipeline single("single", build_features(e, fs1, query.database), ShortlistOptions{});
    ours["scaler+pca"] = since(t);
    WildFusionOptions wo;
    wo.name = "bench";
    wo.shortlist = shortlist;
    WildFusion fusion(wo, &concatenated, {&concatenated, &single});
    t = Clock::now();
    fusion.calibrate(calibration, table);
    ours["calibration"] = since(t);
    t = Clock::now();
    const auto answers = fusion.predict(query, table);
    ours["query"] = since(t);

    int64_t baseline_components = 0;
    std::map<std::string, double> theirs = {{"scaler+pca", 0}, {"calibration", 0}, {"query", 0}};
    size_t same = 0;
    if (!no_baseline) {
      theirs = run_baseline(python, work, threads, shortlist, &baseline_components);
      std::ifstream in(work / "baseline.json");
      const auto best = nlohmann::json::parse(in).get<std::vector<int64_t>>();
      for (size_t i = 0; i < answers.size() && i < best.size(); ++i) same += answers[i].identity == table.key[best[i]];
    }

    std::printf("identify at %lld database x %lld query images; %lld models x %lld-d concatenated (%lld-d) "
                "-> PCA(0.99) %lld components (scikit-learn: %lld); shortlist %lld; %d threads\n",
                static_cast<long long>(query.database.size()), static_cast<long long>(query.queries.size()),
                static_cast<long long>(models), static_cast<long long>(dim), static_cast<long long>(report.input_dim),
                static_cast<long long>(report.pca_components), static_cast<long long>(baseline_components),
                static_cast<long long>(shortlist), threads);
    std::printf("calibration: %zu images against %zu\n", calibration.queries.size(), calibration.database.size());
    std::printf("load (ours, not compared): %.2f s\n", load_s);
    std::printf("%-14s %12s %14s %8s\n", "step", "wildreid s", "numpy/sklearn s", "ratio");
    double total_ours = 0, total_theirs = 0;
    for (const char* step : {"scaler+pca", "calibration", "query"}) {
      total_ours += ours[step];
      total_theirs += theirs.at(step);
      std::printf("%-14s %12.2f %14.2f %7.2fx\n", step, ours[step], theirs.at(step), theirs.at(step) / ours[step]);
    }
    std::printf("%-14s %12.2f %14.2f %7.2fx\n", "total", total_ours, total_theirs, total_theirs / total_ours);
    std::printf("same identity for %zu of %zu queries\n", same, answers.size());
    if (!keep && work_dir.empty()) wildreid::data::remove_tree(work);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "bench_identify: error: %s\n", ex.what());
    return 1;
  }
  return 0;
}

// Orchestration only: every step lives in its own file. Order matters in one place: each
// component first solves the calibration scenario (WildFusion fits its calibrations there), then
// the real one; fusion steps are applied to both; the threshold is tuned on the calibration
// result of the output stage and applied to its real result.
#include "identify/identify_run.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "data/csv_reader.h"
#include "checkpoints/atomic_file.h"
#include "identify/classifier.h"
#include "identify/embedding_mlp.h"
#include "identify/embeddings_file.h"
#include "identify/features.h"
#include "identify/pipeline.h"
#include "identify/wildfusion.h"

namespace wildreid::identify {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fixed(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

struct Context {
  const RunOptions& options;
  const Embeddings& embeddings;
  const RowTable& table;
  const Scenario& query;
  const Scenario& calibration;
  c10::Device device;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines;

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  std::vector<std::string> models_or_all(const std::vector<std::string>& models) const {
    return models.empty() ? embeddings.model_names() : models;
  }

  Pipeline* pipeline(const std::string& name) {
    auto it = pipelines.find(name);
    if (it != pipelines.end()) return it->second.get();
    const PipelineConfig* spec = nullptr;
    for (const auto& p : options.config.pipelines)
      if (p.name == name) spec = &p;
    const auto start = Clock::now();
    std::unique_ptr<Pipeline> built;
    if (spec->type == "global") {
      FeatureOptions f;
      f.models = models_or_all(spec->models);
      const bool several = f.models.size() > 1;
      f.scaler = spec->scaler == "auto" ? several : spec->scaler == "true";
      f.pca = spec->pca < 0 ? (several ? 0.99 : 0.0) : spec->pca;
      f.normalize = true;
      f.device = device;
      FeatureReport report;
      auto features = build_features(embeddings, f, query.database, &report);
      ShortlistOptions s;
      s.block = options.config.block;
      s.device = device;
      built = std::make_unique<GlobalPipeline>(name, std::move(features), s);
      std::string models;
      for (const auto& m : f.models) models += (models.empty() ? "" : "+") + m;
      log("identify: pipeline '" + name + "': " + models + ", " + std::to_string(report.input_dim) + "-d" +
          (f.scaler ? " -> scaler" : "") +
          (f.pca > 0 ? " -> PCA(" + fixed(f.pca, 2) + ") " + std::to_string(report.pca_components) + "-d" : "") +
          " (" + fixed(since(start), 1) + " s)");
    } else {
      if (!options.scorer_factory)
        throw std::runtime_error(spec->where + ": local pipeline '" + name +
                                 "' needs a local matcher, and none is linked into this trainer");
      LocalPipelineSpec local;
      local.name = name;
      local.options = spec->options;
      local.shards = options.shards.empty() ? embeddings.shards : options.shards;
      local.work_dir = (options.out / "cache" / name).string();
      built = std::make_unique<LocalPipeline>(name, options.scorer_factory(local), embeddings.rows);
      log("identify: pipeline '" + name + "': local");
    }
    return pipelines.emplace(name, std::move(built)).first->second.get();
  }

  const ModelEmbeddings& classifier_model(const ComponentConfig& c) const {
    if (c.model != "auto") return embeddings.model(c.model);
    const ModelEmbeddings* found = nullptr;
    for (const auto& m : embeddings.models)
      if (m.logits.defined()) {
        if (found)
          throw std::runtime_error(c.where + ": classifier '" + c.name + "': several models have logits ('" +
                                   found->name + "', '" + m.name + "'): name one with `model`");
        found = &m;
      }
    if (!found)
      throw std::runtime_error(c.where + ": classifier '" + c.name + "': no model in " + embeddings.path.string() +
                               " has logits");
    return *found;
  }
};

struct StageResult {
  Predictions calibration, query;
  std::string detail;
};

StageResult run_component(Context& ctx, const ComponentConfig& c) {
  const bool within = ctx.options.config.within_dataset;
  StageResult r;
  if (c.type == "wildfusion") {
    std::vector<Pipeline*> pipelines;
    for (const auto& name : c.pipelines) pipelines.push_back(ctx.pipeline(name));
    auto* priority = dynamic_cast<GlobalPipeline*>(ctx.pipeline(c.priority));
    WildFusionOptions o;
    o.name = c.name;
    o.shortlist = c.shortlist;
    o.within_dataset = within;
    WildFusion fusion(o, priority, pipelines);
    r.calibration = fusion.calibrate(ctx.calibration, ctx.table);
    r.query = fusion.predict(ctx.query, ctx.table);
    std::string names;
    for (const auto& n : c.pipelines) names += (names.empty() ? "" : "+") + n;
    r.detail = names + ", shortlist " + (c.shortlist > 0 ? std::to_string(c.shortlist) : std::string("all")) +
               " by " + c.priority;
  } else if (c.type == "classifier") {
    const auto& model = ctx.classifier_model(c);
    r.calibration = classify(model, ctx.calibration, ctx.table, within);
    r.query = classify(model, ctx.query, ctx.table, within);
    r.detail = "softmax of " + model.name + " (" + std::to_string(model.logits.size(1)) + " classes)";
  } else {
    FeatureOptions f;
    f.models = ctx.models_or_all(c.models);
    f.scaler = c.scaler;
    f.pca = c.pca;
    f.normalize = false;
    f.device = ctx.device;
    FeatureReport report;
    const auto features = build_features(ctx.embeddings, f, ctx.query.database, &report);
    MlpOptions o = c.mlp;
    o.device = ctx.device;
    std::string phase;
    if (ctx.options.log) o.log = [&](const std::string& line) { ctx.log("identify: mlp '" + c.name + "' " + phase + ": " + line); };
    EmbeddingMlp twin, mlp;
    phase = "calibration";
    twin.train(features, ctx.calibration, ctx.table, o);
    r.calibration = twin.predict(features, ctx.calibration, ctx.table, within);
    phase = "database";
    mlp.train(features, ctx.query, ctx.table, o);
    r.query = mlp.predict(features, ctx.query, ctx.table, within);
    const auto& m = mlp.report();
    r.detail = std::to_string(report.output_dim) + "-d input, " + std::to_string(m.classes) + " classes, best epoch " +
               std::to_string(m.best_epoch) + "/" + std::to_string(m.epochs_run) + ", val acc " +
               fixed(m.best_val_accuracy);
  }
  return r;
}

std::string csv_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void write_outputs(const RunOptions& o, const RunSummary& s) {
  fs::create_directories(o.out);
  std::string submission = data::csv_row({"image_id", "identity"});
  for (size_t i = 0; i < s.answers.size(); ++i) submission += data::csv_row({s.query_image_ids[i], s.answers[i]});

  std::vector<std::string> header = {"image_id", "dataset"};
  for (const auto& stage : s.stages) {
    header.push_back(stage.name + "_identity");
    header.push_back(stage.name + "_confidence");
  }
  header.insert(header.end(), {"output", "threshold", "identity"});
  std::string predictions = data::csv_row(header);
  const StageSummary* output = nullptr;
  for (const auto& stage : s.stages)
    if (stage.name == s.output) output = &stage;
  for (size_t i = 0; i < s.answers.size(); ++i) {
    std::vector<std::string> row = {s.query_image_ids[i], s.query_datasets[i]};
    for (const auto& stage : s.stages) {
      row.push_back(identity_of_key(stage.query[i].identity));
      row.push_back(stage.query[i].has_identity() ? csv_number(stage.query[i].confidence) : "");
    }
    row.push_back(output->query[i].has_identity() ? csv_number(output->query[i].confidence) : "");
    row.push_back(csv_number(s.threshold.for_dataset(s.query_datasets[i])));
    row.push_back(s.answers[i]);
    predictions += data::csv_row(row);
  }

  nlohmann::json stages = nlohmann::json::array();
  for (const auto& stage : s.stages)
    stages.push_back({{"name", stage.name}, {"type", stage.type}, {"detail", stage.detail}, {"seconds", stage.seconds},
                      {"calibration_score", stage.calibration_score}, {"own_threshold", csv_number(stage.own_threshold)}});
  nlohmann::json per_dataset = nlohmann::json::object();
  for (const auto& [d, t] : s.threshold.per_dataset) per_dataset[d] = csv_number(t);
  const nlohmann::json summary = {
      {"output", s.output},
      {"queries", s.answers.size()},
      {"new_individuals", s.new_individuals},
      {"database_images", s.database_images},
      {"calibration_queries", s.calibration_queries},
      {"calibration_unknown", s.calibration_unknown},
      {"withheld_identities", s.withheld_identities},
      {"threshold", {{"global", csv_number(s.threshold.global)}, {"per_dataset", per_dataset},
                     {"tuned", o.config.tune_threshold}, {"calibration_score", s.threshold.calibration_score}}},
      {"stages", stages},
      {"seconds", s.seconds}};
  checkpoints::write_file_atomically(o.out / "predictions.csv", predictions);
  checkpoints::write_file_atomically(o.out / "summary.json", summary.dump(2) + "\n");
  checkpoints::write_file_atomically(o.out / "submission.csv", submission);  // last: its presence means the run finished
}

}  // namespace

RunSummary run_identify(const RunOptions& o) {
  const auto start = Clock::now();
  const IdentifyConfig& config = o.config;
  const auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  const Embeddings embeddings = read_embeddings(o.embeddings);
  if (embeddings.models.empty())
    throw std::runtime_error(o.embeddings.string() + ": no complete model (run trainer embed first)");
  const RowTable table(embeddings.rows);
  const Scenario query = query_scenario(table, config.scenario);
  const Scenario calibration = calibration_scenario(table, config.scenario);
  size_t calibration_unknown = 0;
  for (const auto& t : calibration.truth) calibration_unknown += t == kNewIndividual;
  log("identify: " + std::to_string(query.queries.size()) + " queries, " + std::to_string(query.database.size()) +
      " database images; calibration: " + std::to_string(calibration.queries.size()) + " images (" +
      std::to_string(calibration_unknown) + " of withheld identities) against " +
      std::to_string(calibration.database.size()));

  Context ctx{o, embeddings, table, query, calibration, resolve_device(config.device), {}};
  RunSummary summary;
  summary.output = config.output;
  for (const int64_t r : query.queries) {
    summary.query_image_ids.push_back(embeddings.rows.image_id[r]);
    summary.query_datasets.push_back(embeddings.rows.dataset[r]);
  }
  summary.database_images = query.database.size();
  summary.calibration_queries = calibration.queries.size();
  summary.calibration_unknown = calibration_unknown;
  summary.withheld_identities = calibration.withheld.size();

  std::map<std::string, Predictions> calibration_predictions;
  const auto record = [&](StageSummary stage, Predictions cal) {
    const Threshold own = tune_threshold(cal, calibration, table, false);
    stage.own_threshold = own.global;
    stage.calibration_score = own.calibration_score;
    log("identify: " + stage.type + " '" + stage.name + "': " + stage.detail + "; calibration score " +
        fixed(stage.calibration_score) + " at threshold " + csv_number(stage.own_threshold) + " (" +
        fixed(stage.seconds, 1) + " s)");
    calibration_predictions[stage.name] = std::move(cal);
    summary.stages.push_back(std::move(stage));
  };
  for (const auto& c : config.components) {
    const auto t0 = Clock::now();
    StageResult r = run_component(ctx, c);
    record({c.name, c.type, r.detail, since(t0), 0, 0, std::move(r.query)}, std::move(r.calibration));
  }
  const auto stage_query = [&](const std::string& name) -> const Predictions& {
    for (const auto& s : summary.stages)
      if (s.name == name) return s.query;
    throw std::logic_error("no stage " + name);
  };
  for (const auto& f : config.fusion) {
    const auto t0 = Clock::now();
    Predictions q = fuse(stage_query(f.a), stage_query(f.b), f);
    Predictions cal = fuse(calibration_predictions.at(f.a), calibration_predictions.at(f.b), f);
    record({f.name, "fusion", f.a + " x " + f.b, since(t0), 0, 0, std::move(q)}, std::move(cal));
  }

  if (config.tune_threshold) {
    summary.threshold = tune_threshold(calibration_predictions.at(config.output), calibration, table,
                                       config.per_dataset_threshold);
  } else {
    summary.threshold.global = config.threshold;
    summary.threshold.calibration_score =
        calibration_score(calibration_predictions.at(config.output), calibration, table, summary.threshold).score;
  }
  const Predictions& final_predictions = stage_query(config.output);
  for (size_t i = 0; i < final_predictions.size(); ++i) {
    const std::string answer = decide(final_predictions[i], summary.threshold.for_dataset(summary.query_datasets[i]));
    summary.new_individuals += answer == kNewIndividual;
    summary.answers.push_back(answer == kNewIndividual ? answer : identity_of_key(answer));
  }
  summary.seconds = since(start);
  write_outputs(o, summary);
  return summary;
}

std::string summary_text(const RunSummary& s) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-20s %-10s %10s %10s  %s\n", "stage", "type", "cal.score", "threshold", "detail");
  out += line;
  for (const auto& stage : s.stages) {
    std::snprintf(line, sizeof line, "%-20s %-10s %10.4f %10s  %s\n", stage.name.c_str(), stage.type.c_str(),
                  stage.calibration_score, csv_number(stage.own_threshold).c_str(), stage.detail.c_str());
    out += line;
  }
  std::string threshold = csv_number(s.threshold.global);
  for (const auto& [d, t] : s.threshold.per_dataset) threshold += ", " + d + " " + csv_number(t);
  out += "output '" + s.output + "', threshold " + threshold + " (calibration score " +
         fixed(s.threshold.calibration_score) + ")\n";
  out += std::to_string(s.answers.size()) + " queries: " + std::to_string(s.answers.size() - s.new_individuals) +
         " matched to a database identity, " + std::to_string(s.new_individuals) + " new_individual (" +
         fixed(s.seconds, 1) + " s)\n";
  return out;
}

}  // namespace wildreid::identify

// `trainer match`: matches the local features of two images and draws the matches, so a user can
// look at what a local pipeline sees before trusting its scores in identification. The images are
// files, or image_ids of a shard set with --shards; the pipeline options are those of an identify
// config's local pipeline (matching/pipeline_options.h), as flags or --option key=value.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "matching/local_pipeline.h"
#include "matching/match_drawing.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {
namespace {

struct MatchOptions {
  std::vector<std::string> images;
  std::string png;
  std::string shards;
  std::map<std::string, std::string> pipeline;  // flags below land here
  std::vector<std::string> extra;               // --option key=value
};

void run_match(const MatchOptions& o) {
  if (o.images.size() != 2) throw std::invalid_argument("match: give exactly two --image");
  std::map<std::string, std::string> options = o.pipeline;
  for (const auto& kv : o.extra) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument("match: --option must be key=value, got '" + kv + "'");
    options[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  matching::LocalPipelineOptions po = matching::parse_pipeline_options(options, "match");
  po.progress = false;
  auto images = o.shards.empty() ? matching::file_image_source() : matching::shard_image_source(o.shards);
  matching::LocalPipeline pipeline(po, images, "match");
  const std::string& a = o.images[0];
  const std::string& b = o.images[1];
  const matching::PairMatch match = pipeline.match_pair(a, b);
  auto fa = pipeline.features(a), fb = pipeline.features(b);
  const float score = matching::pair_score(match, *fa, *fb, po.score);
  std::printf("match: %s (%lld keypoints) vs %s (%lld keypoints): %lld putative matches, score %.0f (%s, %s%s, "
              "threshold %g)\n",
              a.c_str(), static_cast<long long>(fa->size()), b.c_str(), static_cast<long long>(fb->size()),
              static_cast<long long>(match.matches.size(0)), score, po.extractor.type.c_str(), po.matcher.c_str(),
              po.score.ransac ? " + RANSAC" : "", po.score.threshold);
  if (o.png.empty()) return;
  const int64_t size = po.extractor.size;
  const cv::Mat ia = matching::resize_long_side(images->load(a, size), size);
  const cv::Mat ib = matching::resize_long_side(images->load(b, size), size);
  matching::DrawOptions draw;
  draw.threshold = po.score.threshold;
  char caption[160];
  std::snprintf(caption, sizeof caption, "%s + %s: score %.0f", po.extractor.type.c_str(), po.matcher.c_str(), score);
  draw.caption = caption;
  matching::write_png(o.png, matching::draw_matches(ia, *fa, ib, *fb, match, draw));
  std::printf("match: wrote %s\n", o.png.c_str());
}

}  // namespace

void add_match(CLI::App& app) {
  auto o = std::make_shared<MatchOptions>();
  std::string help = "Match the local features of two images, print the pair score and draw the matches.\n"
                     "Pipeline options (also as --option key=value):\n";
  for (const auto& [key, text] : matching::pipeline_option_help()) help += "  " + key + ": " + text + "\n";
  auto* cmd = app.add_subcommand("match", help);
  cmd->add_option("--image", o->images, "An image file, or an image_id with --shards; give it twice")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--png", o->png, "Write the drawing of the matches here (PNG)");
  cmd->add_option("--shards", o->shards, "Read --image ids from this shard set instead of files");
  auto flag = [&](const char* name, const char* key, const char* text) {
    cmd->add_option_function<std::string>(name, [o, key](const std::string& v) { o->pipeline[key] = v; }, text);
  };
  flag("--extractor", "extractor", "sift (default), aliked, aliked-t16, aliked-n16, aliked-n16rot, aliked-n32");
  flag("--matcher", "matcher", "ratio (default) or lightglue");
  flag("--max-keypoints", "max_keypoints", "Keypoints per image (default 256)");
  flag("--size", "size", "Longer image side in pixels (default 512)");
  flag("--threshold", "threshold", "Confidence a match needs to count (default 0.5 LightGlue, 0.2 ratio)");
  flag("--weights", "weights", "ALIKED weights (.pth or .safetensors)");
  flag("--lightglue-weights", "lightglue_weights", "LightGlue weights (.pth or .safetensors)");
  flag("--ransac", "ransac", "true: score by USAC fundamental-matrix inliers (default false)");
  flag("--device", "device", "cpu (default) or cuda[:N]");
  cmd->add_option("--option", o->extra, "Any pipeline option as key=value (see above); repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->callback([o] { run_match(*o); });
}

}  // namespace wildreid::commands

// Everything one local-matching pipeline needs, as a plain struct, and its parser from the scalar
// key/value options of an identify config's local pipeline (or `trainer match`'s flags). Defaults
// reproduce wildlife-tools' WildFusion local pipelines: 256 keypoints, 512-px images, LightGlue
// without adaptive depth/width and a 0.1 filter, a pair scored by its matches above 0.5 confidence.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "matching/extractor_options.h"
#include "matching/pair_score.h"

namespace wildreid::matching {

struct LocalPipelineOptions {
  ExtractorOptions extractor;
  std::string matcher = "ratio";   // "ratio" (mutual NN + Lowe ratio) or "lightglue"
  std::string lightglue_weights;   // LightGlue for the extractor's feature type (.pth/.safetensors)
  bool adaptive = false;           // LightGlue adaptive depth and width (kornia's 0.95 / 0.99)
  double filter_threshold = 0.1;   // LightGlue's own match filter
  ScoreOptions score;              // threshold: 0.5 (LightGlue) or 0.2 (= ratio 0.8) unless set
  int64_t batch_pairs = 0;         // pairs per batch; 0 = 16 on CPU, 64 on GPU
  int threads = 0;                 // CPU workers; 0 = the LibTorch intra-op thread count
  int64_t memory_mb = 2048;        // features kept in memory (with a cache folder)
  std::filesystem::path cache_dir; // feature cache root; empty = memory only
  bool progress = true;
};

// The keys parse_pipeline_options accepts, with one line of help each.
const std::vector<std::pair<std::string, std::string>>& pipeline_option_help();

// Applies `options` over the defaults; throws std::invalid_argument naming `where` and the key for
// an unknown key or a bad value, and for combinations that cannot work (LightGlue without weights).
LocalPipelineOptions parse_pipeline_options(const std::map<std::string, std::string>& options,
                                            const std::string& where);
void validate(const LocalPipelineOptions& o, const std::string& where);

}  // namespace wildreid::matching

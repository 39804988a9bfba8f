// A picture of one pair's matches, so a user can see why two photos scored as they did: both
// images side by side at the size the extractor saw them, every keypoint as a dot, every counted
// match as a line coloured from red (confidence at the threshold) to green (1), and the score.
#pragma once
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

#include "matching/local_features.h"
#include "matching/pair_matcher.h"

namespace wildreid::matching {

struct DrawOptions {
  double threshold = 0.5;  // matches at or below are not drawn
  std::string caption;     // drawn at the top
};

// a, b: the images in the extractor's frame (same size as the features' width/height).
cv::Mat draw_matches(const cv::Mat& a, const LocalFeatures& fa, const cv::Mat& b, const LocalFeatures& fb,
                     const PairMatch& match, const DrawOptions& options);

// Writes `image` as PNG (temporary name, then rename); throws naming the path on failure.
void write_png(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace wildreid::matching

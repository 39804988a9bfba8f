// See match_drawing.h.
#include "matching/match_drawing.h"

#include <ATen/ATen.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace wildreid::matching {

cv::Mat draw_matches(const cv::Mat& a, const LocalFeatures& fa, const cv::Mat& b, const LocalFeatures& fb,
                     const PairMatch& match, const DrawOptions& o) {
  const int caption_h = 28;
  const int height = std::max(a.rows, b.rows) + caption_h;
  cv::Mat canvas(height, a.cols + b.cols, CV_8UC3, cv::Scalar(32, 32, 32));
  a.copyTo(canvas(cv::Rect(0, caption_h, a.cols, a.rows)));
  b.copyTo(canvas(cv::Rect(a.cols, caption_h, b.cols, b.rows)));
  const cv::Point2f offset_a(0, caption_h), offset_b(static_cast<float>(a.cols), caption_h);
  auto point = [](const LocalFeatures& f, int64_t i, cv::Point2f offset) {
    return cv::Point2f(f.keypoints[i][0].item<float>(), f.keypoints[i][1].item<float>()) + offset;
  };
  for (int64_t i = 0; i < fa.size(); ++i) cv::circle(canvas, point(fa, i, offset_a), 2, cv::Scalar(255, 200, 0), -1);
  for (int64_t i = 0; i < fb.size(); ++i) cv::circle(canvas, point(fb, i, offset_b), 2, cv::Scalar(255, 200, 0), -1);
  int drawn = 0;
  for (int64_t k = 0; k < match.matches.size(0); ++k) {
    const double c = match.confidence[k].item<double>();
    if (c <= o.threshold) continue;
    const double t = o.threshold < 1 ? std::clamp((c - o.threshold) / (1 - o.threshold), 0.0, 1.0) : 1.0;
    const cv::Scalar colour(0, 255 * t, 255 * (1 - t));  // BGR: red -> green
    cv::line(canvas, point(fa, match.matches[k][0].item<int64_t>(), offset_a),
             point(fb, match.matches[k][1].item<int64_t>(), offset_b), colour, 1, cv::LINE_AA);
    ++drawn;
  }
  std::string caption = o.caption.empty() ? std::to_string(drawn) + " matches" : o.caption;
  cv::putText(canvas, caption, cv::Point(6, 20), cv::FONT_HERSHEY_SIMPLEX, 0.55, cv::Scalar(255, 255, 255), 1,
              cv::LINE_AA);
  return canvas;
}

void write_png(const std::filesystem::path& path, const cv::Mat& image) {
  const std::string tmp = path.string() + ".tmp.png";
  if (!cv::imwrite(tmp, image)) throw std::runtime_error("cannot write PNG '" + path.string() + "'");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot move PNG into place at '" + path.string() + "'");
  }
}

}  // namespace wildreid::matching

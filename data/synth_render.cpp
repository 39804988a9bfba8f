// Drawing with OpenCV primitives in a canonical frame (the animal centred, facing right), then one
// affine warp into the photo. Pattern features are clipped to the body mask so they move with it.
#include "data/synth_render.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/synth_rng.h"

namespace wildreid::data {
namespace {

struct Canvas {
  cv::Mat color;  // CV_8UC3 animal colours
  cv::Mat body;   // CV_8U mask of the animal
};

cv::Scalar jitter(SynthRng& rng, cv::Scalar base, double amount) {
  return cv::Scalar(std::clamp(base[0] + rng.uniform(-amount, amount), 0.0, 255.0),
                    std::clamp(base[1] + rng.uniform(-amount, amount), 0.0, 255.0),
                    std::clamp(base[2] + rng.uniform(-amount, amount), 0.0, 255.0));
}

cv::Point pt(double x, double y, int s) { return {static_cast<int>(x * s), static_cast<int>(y * s)}; }
cv::Size ax(double a, double b, int s) { return {std::max(1, static_cast<int>(a * s)), std::max(1, static_cast<int>(b * s))}; }

void body_ellipse(Canvas& c, cv::Point centre, cv::Size axes, double angle, cv::Scalar colour) {
  cv::ellipse(c.color, centre, axes, angle, 0, 360, colour, cv::FILLED, cv::LINE_AA);
  cv::ellipse(c.body, centre, axes, angle, 0, 360, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
}

// Draws `pattern` (with its mask) onto the canvas inside `region`.
void apply_pattern(Canvas& c, const cv::Mat& pattern, const cv::Mat& pattern_mask, const cv::Mat& region) {
  cv::Mat mask;
  cv::bitwise_and(pattern_mask, region, mask);
  pattern.copyTo(c.color, mask);
}

Canvas draw_turtle(SynthRng& rng, int s) {
  Canvas c{cv::Mat(s, s, CV_8UC3, cv::Scalar::all(0)), cv::Mat(s, s, CV_8U, cv::Scalar(0))};
  const cv::Scalar skin = jitter(rng, {70, 110, 130}, 15);
  const cv::Scalar shell = jitter(rng, {40, 80, 140}, 25);
  for (int k = 0; k < 4; ++k) {  // flippers
    const double fx = k < 2 ? 0.62 : 0.36, fy = k % 2 ? 0.30 : 0.70;
    body_ellipse(c, pt(fx, fy, s), ax(0.13, 0.05, s), (k % 2 ? -35 : 35) * (k < 2 ? 1 : -1), skin);
  }
  body_ellipse(c, pt(0.80, 0.50, s), ax(0.08, 0.065, s), 0, skin);  // head
  cv::Mat shell_mask(s, s, CV_8U, cv::Scalar(0));
  cv::ellipse(shell_mask, pt(0.5, 0.5, s), ax(0.27, 0.21, s), 0, 0, 360, cv::Scalar(255), cv::FILLED);
  body_ellipse(c, pt(0.5, 0.5, s), ax(0.27, 0.21, s), 0, shell);
  // Scutes: jittered grid of polygons, each with its own shade, outlined darker.
  cv::Mat pattern(s, s, CV_8UC3, cv::Scalar::all(0)), pmask(s, s, CV_8U, cv::Scalar(0));
  const int cols = rng.range(3, 5), rows = rng.range(2, 4);
  for (int i = 0; i < cols; ++i)
    for (int j = 0; j < rows; ++j) {
      const double cx = 0.25 + (i + 0.5) / cols * 0.5 + rng.uniform(-0.03, 0.03);
      const double cy = 0.31 + (j + 0.5) / rows * 0.38 + rng.uniform(-0.03, 0.03);
      std::vector<cv::Point> poly;
      const int sides = rng.range(5, 7);
      const double r = rng.uniform(0.045, 0.075);
      for (int v = 0; v < sides; ++v) {
        const double a = 2 * M_PI * v / sides + rng.uniform(-0.3, 0.3);
        poly.push_back(pt(cx + r * std::cos(a) * rng.uniform(0.8, 1.2), cy + r * std::sin(a) * rng.uniform(0.8, 1.2), s));
      }
      const cv::Scalar shade = jitter(rng, shell, 45);
      cv::fillConvexPoly(pattern, poly, shade, cv::LINE_AA);
      cv::fillConvexPoly(pmask, poly, cv::Scalar(255), cv::LINE_AA);
      cv::polylines(pattern, std::vector<std::vector<cv::Point>>{poly}, true, shell * 0.4, std::max(1, s / 128), cv::LINE_AA);
    }
  for (int k = rng.range(3, 8); k > 0; --k) {  // light flecks
    const cv::Point p = pt(rng.uniform(0.27, 0.73), rng.uniform(0.32, 0.68), s);
    const int r = std::max(1, static_cast<int>(rng.uniform(0.008, 0.02) * s));
    cv::circle(pattern, p, r, jitter(rng, {150, 190, 210}, 30), cv::FILLED, cv::LINE_AA);
    cv::circle(pmask, p, r, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  }
  apply_pattern(c, pattern, pmask, shell_mask);
  return c;
}

Canvas draw_salamander(SynthRng& rng, int s) {
  Canvas c{cv::Mat(s, s, CV_8UC3, cv::Scalar::all(0)), cv::Mat(s, s, CV_8U, cv::Scalar(0))};
  const cv::Scalar skin = jitter(rng, {35, 35, 40}, 12);
  for (int k = 0; k < 4; ++k) {  // legs
    const double lx = k < 2 ? 0.62 : 0.38, ly = k % 2 ? 0.40 : 0.60;
    body_ellipse(c, pt(lx, ly, s), ax(0.035, 0.09, s), (k < 2 ? 25 : -25) * (k % 2 ? -1 : 1), skin);
  }
  std::vector<cv::Point> tail = {pt(0.30, 0.46, s), pt(0.30, 0.54, s), pt(0.06, 0.5 + rng.uniform(-0.06, 0.06), s)};
  cv::fillConvexPoly(c.color, tail, skin, cv::LINE_AA);
  cv::fillConvexPoly(c.body, tail, cv::Scalar(255), cv::LINE_AA);
  body_ellipse(c, pt(0.52, 0.5, s), ax(0.25, 0.075, s), 0, skin);  // trunk
  body_ellipse(c, pt(0.79, 0.5, s), ax(0.07, 0.06, s), 0, skin);   // head
  cv::Mat pattern(s, s, CV_8UC3, cv::Scalar::all(0)), pmask(s, s, CV_8U, cv::Scalar(0));
  const cv::Scalar spot = jitter(rng, {20, 190, 235}, 25);  // yellow/orange
  for (int k = rng.range(9, 18); k > 0; --k) {
    const cv::Point p = pt(rng.uniform(0.12, 0.84), rng.uniform(0.43, 0.57), s);
    const cv::Size a = ax(rng.uniform(0.01, 0.035), rng.uniform(0.008, 0.025), s);
    const double angle = rng.uniform(0, 180);
    cv::ellipse(pattern, p, a, angle, 0, 360, jitter(rng, spot, 20), cv::FILLED, cv::LINE_AA);
    cv::ellipse(pmask, p, a, angle, 0, 360, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  }
  apply_pattern(c, pattern, pmask, c.body);
  return c;
}

Canvas draw_lynx(SynthRng& rng, int s) {
  Canvas c{cv::Mat(s, s, CV_8UC3, cv::Scalar::all(0)), cv::Mat(s, s, CV_8U, cv::Scalar(0))};
  const cv::Scalar fur = jitter(rng, {110, 150, 185}, 20);
  for (int k = 0; k < 4; ++k)  // legs
    body_ellipse(c, pt(k < 2 ? 0.36 + 0.05 * k : 0.60 + 0.05 * (k - 2), 0.68, s), ax(0.025, 0.12, s), 0, fur);
  body_ellipse(c, pt(0.5, 0.52, s), ax(0.24, 0.12, s), 0, fur);   // body
  body_ellipse(c, pt(0.77, 0.40, s), ax(0.075, 0.07, s), 0, fur); // head
  std::vector<cv::Point> ear = {pt(0.74, 0.35, s), pt(0.77, 0.25, s), pt(0.79, 0.35, s)};
  cv::fillConvexPoly(c.color, ear, fur * 0.5, cv::LINE_AA);
  cv::fillConvexPoly(c.body, ear, cv::Scalar(255), cv::LINE_AA);
  cv::Mat pattern(s, s, CV_8UC3, cv::Scalar::all(0)), pmask(s, s, CV_8U, cv::Scalar(0));
  const cv::Scalar dark = jitter(rng, {30, 40, 55}, 12);
  for (int k = rng.range(18, 34); k > 0; --k) {
    const cv::Point p = pt(rng.uniform(0.27, 0.74), rng.uniform(0.40, 0.64), s);
    const int r = std::max(1, static_cast<int>(rng.uniform(0.007, 0.02) * s));
    cv::circle(pattern, p, r, dark, cv::FILLED, cv::LINE_AA);
    cv::circle(pmask, p, r, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  }
  for (int k = rng.range(1, 4); k > 0; --k) {  // stripes on the flank
    const double x = rng.uniform(0.3, 0.7);
    const cv::Point a = pt(x, 0.42, s), b = pt(x + rng.uniform(-0.06, 0.06), 0.62, s);
    cv::line(pattern, a, b, dark, std::max(1, s / 90), cv::LINE_AA);
    cv::line(pmask, a, b, cv::Scalar(255), std::max(1, s / 90), cv::LINE_AA);
  }
  apply_pattern(c, pattern, pmask, c.body);
  return c;
}

cv::Mat background(SynthRng& rng, SynthSpecies species, int s) {
  const cv::Scalar base = species == SynthSpecies::kTurtle       ? jitter(rng, {150, 120, 60}, 40)   // water
                          : species == SynthSpecies::kSalamander ? jitter(rng, {60, 90, 100}, 30)  // leaf litter
                                                                 : jitter(rng, {70, 130, 110}, 40); // grass
  // Drawn and blurred at 1/4 size, then enlarged: the background is smooth anyway, and a large
  // blur at full size would cost more than the rest of the photo.
  const int q = std::max(8, s / 4);
  cv::Mat small(q, q, CV_8UC3, base);
  for (int k = rng.range(6, 14); k > 0; --k) {
    const cv::Point p(rng.range(0, q - 1), rng.range(0, q - 1));
    const int r = std::max(1, static_cast<int>(rng.uniform(0.05, 0.25) * q));
    cv::circle(small, p, r, jitter(rng, base, 30), cv::FILLED, cv::LINE_AA);
  }
  cv::GaussianBlur(small, small, cv::Size(0, 0), std::max(1.0, q / 40.0));
  cv::Mat bg;
  cv::resize(small, bg, cv::Size(s, s), 0, 0, cv::INTER_LINEAR);
  return bg;
}

}  // namespace

std::vector<uint8_t> render_synth_photo(SynthSpecies species, uint64_t individual_seed, uint64_t photo_seed,
                                        int size) {
  SynthRng individual(individual_seed);
  SynthRng photo(photo_seed);
  const int s = size;
  const Canvas animal = species == SynthSpecies::kTurtle       ? draw_turtle(individual, s)
                        : species == SynthSpecies::kSalamander ? draw_salamander(individual, s)
                                                               : draw_lynx(individual, s);
  // Pose: rotation (turtles and salamanders are photographed from above, any angle; a lynx upright),
  // scale, position.
  const double angle = species == SynthSpecies::kLynx ? photo.uniform(-15, 15) : photo.uniform(-60, 60);
  const double scale = photo.uniform(0.75, 1.25);
  cv::Mat warp = cv::getRotationMatrix2D(cv::Point2f(s / 2.0f, s / 2.0f), angle, scale);
  warp.at<double>(0, 2) += photo.uniform(-0.1, 0.1) * s;
  warp.at<double>(1, 2) += photo.uniform(-0.1, 0.1) * s;
  cv::Mat color, body;
  cv::warpAffine(animal.color, color, warp, cv::Size(s, s), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::warpAffine(animal.body, body, warp, cv::Size(s, s), cv::INTER_LINEAR, cv::BORDER_CONSTANT);

  cv::Mat image = background(photo, species, s);
  color.copyTo(image, body);

  // Occlusion: a branch, rock or debris over part of the animal.
  if (photo.chance(0.4)) {
    const cv::Point p(photo.range(s / 4, 3 * s / 4), photo.range(s / 4, 3 * s / 4));
    const cv::Size a(std::max(2, static_cast<int>(photo.uniform(0.05, 0.15) * s)),
                     std::max(2, static_cast<int>(photo.uniform(0.03, 0.10) * s)));
    cv::ellipse(image, p, a, photo.uniform(0, 180), 0, 360, jitter(photo, {50, 80, 70}, 30), cv::FILLED, cv::LINE_AA);
  }
  // Light and colour cast, then blur and sensor noise.
  cv::Mat f;
  image.convertTo(f, CV_32FC3);
  const double gain = photo.uniform(0.65, 1.3), bias = photo.uniform(-25, 25);
  const cv::Scalar cast(gain * photo.uniform(0.9, 1.1), gain * photo.uniform(0.9, 1.1), gain * photo.uniform(0.9, 1.1));
  cv::multiply(f, cast, f);
  f += cv::Scalar::all(bias);
  const double blur = photo.uniform(0.0, 1.6);
  if (blur > 0.3) cv::GaussianBlur(f, f, cv::Size(0, 0), blur * s / 256.0 + 0.3);
  cv::Mat noise(s, s, CV_32FC3);
  cv::RNG noise_rng(photo.next());
  noise_rng.fill(noise, cv::RNG::NORMAL, 0.0, photo.uniform(1.0, 10.0));
  f += noise;
  f.convertTo(image, CV_8UC3);  // saturating

  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, photo.range(55, 95)});
  return jpeg;
}

}  // namespace wildreid::data

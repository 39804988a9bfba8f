// See auto_augment.h. The policy table and the magnitude space are transcribed from
// torchvision.transforms.AutoAugment (_get_policies, _augmentation_space, _apply_op).
#include "data/auto_augment.h"

#include <array>
#include <cmath>

#include "data/geometry_ops.h"
#include "data/pixel_ops.h"

namespace wildreid::data {
namespace {

enum class Op { ShearX, ShearY, TranslateX, TranslateY, Rotate, Brightness, Color, Contrast,
                Sharpness, Posterize, Solarize, AutoContrast, Equalize, Invert };

struct Step {
  Op op;
  double p;
  int bin;  // magnitude bin 0..9 (unused for AutoContrast, Equalize, Invert)
};

constexpr std::array<std::array<Step, 2>, 25> kImageNetPolicy{{
    {{{Op::Posterize, 0.4, 8}, {Op::Rotate, 0.6, 9}}},
    {{{Op::Solarize, 0.6, 5}, {Op::AutoContrast, 0.6, 0}}},
    {{{Op::Equalize, 0.8, 0}, {Op::Equalize, 0.6, 0}}},
    {{{Op::Posterize, 0.6, 7}, {Op::Posterize, 0.6, 6}}},
    {{{Op::Equalize, 0.4, 0}, {Op::Solarize, 0.2, 4}}},
    {{{Op::Equalize, 0.4, 0}, {Op::Rotate, 0.8, 8}}},
    {{{Op::Solarize, 0.6, 3}, {Op::Equalize, 0.6, 0}}},
    {{{Op::Posterize, 0.8, 5}, {Op::Equalize, 1.0, 0}}},
    {{{Op::Rotate, 0.2, 3}, {Op::Solarize, 0.6, 8}}},
    {{{Op::Equalize, 0.6, 0}, {Op::Posterize, 0.4, 6}}},
    {{{Op::Rotate, 0.8, 8}, {Op::Color, 0.4, 0}}},
    {{{Op::Rotate, 0.4, 9}, {Op::Equalize, 0.6, 0}}},
    {{{Op::Equalize, 0.0, 0}, {Op::Equalize, 0.8, 0}}},
    {{{Op::Invert, 0.6, 0}, {Op::Equalize, 1.0, 0}}},
    {{{Op::Color, 0.6, 4}, {Op::Contrast, 1.0, 8}}},
    {{{Op::Rotate, 0.8, 8}, {Op::Color, 1.0, 2}}},
    {{{Op::Color, 0.8, 8}, {Op::Solarize, 0.8, 7}}},
    {{{Op::Sharpness, 0.4, 7}, {Op::Invert, 0.6, 0}}},
    {{{Op::ShearX, 0.6, 5}, {Op::Equalize, 1.0, 0}}},
    {{{Op::Color, 0.4, 0}, {Op::Equalize, 0.6, 0}}},
    {{{Op::Equalize, 0.4, 0}, {Op::Solarize, 0.2, 4}}},
    {{{Op::Solarize, 0.6, 5}, {Op::AutoContrast, 0.6, 0}}},
    {{{Op::Invert, 0.6, 0}, {Op::Equalize, 1.0, 0}}},
    {{{Op::Color, 0.6, 4}, {Op::Contrast, 1.0, 8}}},
    {{{Op::Equalize, 0.8, 0}, {Op::Equalize, 0.6, 0}}},
}};

constexpr int kBins = 10;
double linspace(double lo, double hi, int bin) { return lo + (hi - lo) * bin / (kBins - 1); }

bool is_signed(Op op) {
  return op != Op::Posterize && op != Op::Solarize && op != Op::AutoContrast &&
         op != Op::Equalize && op != Op::Invert;
}

double magnitude(Op op, int bin, const cv::Mat& img) {
  switch (op) {
    case Op::ShearX: case Op::ShearY: return linspace(0.0, 0.3, bin);
    case Op::TranslateX: return linspace(0.0, 150.0 / 331.0 * img.cols, bin);
    case Op::TranslateY: return linspace(0.0, 150.0 / 331.0 * img.rows, bin);
    case Op::Rotate: return linspace(0.0, 30.0, bin);
    case Op::Brightness: case Op::Color: case Op::Contrast: case Op::Sharpness:
      return linspace(0.0, 0.9, bin);
    case Op::Posterize: return 8 - std::nearbyint(bin / ((kBins - 1) / 4.0));  // round half even
    case Op::Solarize: return linspace(255.0, 0.0, bin);
    default: return 0.0;
  }
}

void apply(Op op, double m, cv::Mat& img) {
  switch (op) {
    case Op::ShearX: geometry::shear_x(img, m); break;
    case Op::ShearY: geometry::shear_y(img, m); break;
    case Op::TranslateX: geometry::translate(img, static_cast<int>(m), 0); break;
    case Op::TranslateY: geometry::translate(img, 0, static_cast<int>(m)); break;
    case Op::Rotate: geometry::rotate(img, m); break;
    case Op::Brightness: pixel::adjust_brightness(img, 1.0 + m); break;
    case Op::Color: pixel::adjust_saturation(img, 1.0 + m); break;
    case Op::Contrast: pixel::adjust_contrast(img, 1.0 + m); break;
    case Op::Sharpness: pixel::adjust_sharpness(img, 1.0 + m); break;
    case Op::Posterize: pixel::posterize(img, static_cast<int>(m)); break;
    case Op::Solarize: pixel::solarize(img, m); break;
    case Op::AutoContrast: pixel::autocontrast(img); break;
    case Op::Equalize: pixel::equalize(img); break;
    case Op::Invert: pixel::invert(img); break;
  }
}

}  // namespace

void auto_augment_imagenet(cv::Mat& bgr, SampleRng& rng) {
  // torchvision get_params: policy id, then two probabilities, then two signs.
  const auto& policy = kImageNetPolicy[static_cast<size_t>(rng.randint(0, 25))];
  const double probs[2] = {rng.uniform(), rng.uniform()};
  const int64_t signs[2] = {rng.randint(0, 2), rng.randint(0, 2)};
  for (int i = 0; i < 2; ++i) {
    const Step& step = policy[static_cast<size_t>(i)];
    if (probs[i] > step.p) continue;
    double m = magnitude(step.op, step.bin, bgr);
    if (is_signed(step.op) && signs[i] == 0) m = -m;
    apply(step.op, m, bgr);
  }
}

}  // namespace wildreid::data

// Geometric steps of the train/eval recipes with torchvision's parameter sampling and PIL's
// pixel-centre conventions: RandomResizedCrop's box, rotation about the image centre and the
// AutoAugment shears/translations (nearest neighbour, fill 0, same output size).
#pragma once
#include <array>
#include <cstdint>
#include <opencv2/core.hpp>

#include "data/sample_rng.h"

namespace wildreid::data::geometry {

struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};

// torchvision RandomResizedCrop.get_params: 10 tries of (area scale, log-uniform ratio), then
// the centre crop clamped to the ratio range.
CropBox random_resized_crop_box(int height, int width, const std::array<double, 2>& scale,
                                const std::array<double, 2>& ratio, SampleRng& rng);
// Resize(shorter side = resize_to) then CenterCrop(size), as one box in source pixels.
CropBox resize_center_crop_box(int height, int width, int64_t resize_to, int64_t size);

// Rotate counter-clockwise by `degrees` about the centre, nearest neighbour, fill 0.
void rotate(cv::Mat& image, double degrees);
// AutoAugment ShearX/ShearY (magnitude = shear factor, about the top-left corner) and
// TranslateX/TranslateY (pixels), nearest neighbour, fill 0.
void shear_x(cv::Mat& image, double magnitude);
void shear_y(cv::Mat& image, double magnitude);
void translate(cv::Mat& image, int dx, int dy);

}  // namespace wildreid::data::geometry

// AutoAugment with torchvision's ImageNet policy: 25 sub-policies of two (op, probability,
// magnitude bin) pairs over 10 magnitude bins, signed magnitudes negated with probability 1/2,
// nearest-neighbour geometry with fill 0. Works in place on an 8-bit BGR image.
#pragma once
#include <opencv2/core.hpp>

#include "data/sample_rng.h"

namespace wildreid::data {

void auto_augment_imagenet(cv::Mat& bgr, SampleRng& rng);

}  // namespace wildreid::data

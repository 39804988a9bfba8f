// Colour operations on 8-bit 3-channel images with PIL's integer semantics (torchvision's PIL
// path, which AutoAugment and ColorJitter were tuned on): ImageEnhance blends truncate toward
// zero and clip, grey is ITU-R 601 (OpenCV's SIMD conversion, within one level of PIL's "L"),
// equalize and autocontrast follow ImageOps. Channel order is BGR (what OpenCV decodes) throughout; the grey weights account for it.
// Every op works in place on a CV_8UC3 cv::Mat.
#pragma once
#include <opencv2/core.hpp>

namespace wildreid::data::pixel {

void adjust_brightness(cv::Mat& bgr, double factor);  // blend with black
void adjust_contrast(cv::Mat& bgr, double factor);    // blend with the mean grey level
void adjust_saturation(cv::Mat& bgr, double factor);  // blend with the grey image
void adjust_hue(cv::Mat& bgr, double hue_factor);     // rotate hue by hue_factor * 360 deg, [-0.5, 0.5]
void adjust_sharpness(cv::Mat& bgr, double factor);   // blend with PIL's SMOOTH filter, borders kept
void posterize(cv::Mat& bgr, int bits);
void solarize(cv::Mat& bgr, double threshold);        // invert pixels >= threshold
void invert(cv::Mat& bgr);
void equalize(cv::Mat& bgr);                          // per channel, PIL ImageOps.equalize
void autocontrast(cv::Mat& bgr);                      // per channel, cutoff 0

}  // namespace wildreid::data::pixel

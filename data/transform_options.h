// Every knob of the per-sample transforms in one declarative struct, with torchvision's
// defaults, so configs, the loader and the benchmark describe a recipe the same way. A field set
// to "off" (probability 0, degrees 0, jitter 0, autoaugment false) removes that step.
#pragma once
#include <array>
#include <cstdint>

namespace wildreid::data {

enum class OutputFormat {
  kFloatNormalized,  // float32 NCHW, (x/255 - mean) / std
  kUint8,            // uint8 NCHW RGB; normalisation happens on the GPU
};

struct TransformOptions {
  bool train = true;   // train recipe, else eval (resize + centre crop)
  int64_t size = 224;  // output side (square)

  // RandomResizedCrop (torchvision: scale (0.08, 1), ratio (3/4, 4/3), 10 tries, centre fallback)
  std::array<double, 2> crop_scale{0.08, 1.0};
  std::array<double, 2> crop_ratio{3.0 / 4.0, 4.0 / 3.0};
  double hflip_p = 0.5;          // RandomHorizontalFlip
  double rotation_degrees = 0;   // RandomRotation(degrees): angle ~ U(-d, d), nearest, fill 0
  // ColorJitter factors (0 = off), applied in a random order like torchvision.
  double brightness = 0, contrast = 0, saturation = 0, hue = 0;
  bool auto_augment = false;     // AutoAugment, ImageNet policy (25 sub-policies)
  // RandomErasing on the normalised image (p, scale, ratio, value).
  double erasing_p = 0;
  std::array<double, 2> erasing_scale{0.02, 0.33};
  std::array<double, 2> erasing_ratio{0.3, 3.3};
  double erasing_value = 0;

  // Eval: Resize(shorter side = size / crop_pct) + CenterCrop(size). crop_pct 1 = resize to size.
  double eval_crop_pct = 0.875;
  // Eval: Resize((size, size)) of the whole image instead, aspect not kept (MegaDescriptor's
  // transform); eval_crop_pct is then unused.
  bool eval_squash = false;

  // Normalisation (RGB); ImageNet by default, 0.5/0.5 for models trained that way.
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  OutputFormat output = OutputFormat::kFloatNormalized;

  // Decode at 1/2, 1/4 or 1/8 (libjpeg-turbo scaled IDCT) when the crop stays >= the output.
  bool reduced_decode = true;
  // Decode only the crop's rows/columns of a JPEG (libjpeg-turbo skip/crop scanline).
  bool region_decode = true;
};

// The usual train recipe at `size`: crop, flip, rotation 15, ColorJitter 0.4/0.4/0.4/0.1,
// AutoAugment, RandomErasing 0.5.
TransformOptions full_train_recipe(int64_t size);
// Mean/std 0.5/0.5 instead of ImageNet's.
void use_half_normalization(TransformOptions& options);

}  // namespace wildreid::data

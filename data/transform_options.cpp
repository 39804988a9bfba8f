// See transform_options.h: named recipes, so callers do not repeat the numbers.
#include "data/transform_options.h"

namespace wildreid::data {

TransformOptions full_train_recipe(int64_t size) {
  TransformOptions o;
  o.train = true;
  o.size = size;
  o.hflip_p = 0.5;
  o.rotation_degrees = 15;
  o.brightness = 0.4;
  o.contrast = 0.4;
  o.saturation = 0.4;
  o.hue = 0.1;
  o.auto_augment = true;
  o.erasing_p = 0.5;
  return o;
}

void use_half_normalization(TransformOptions& o) {
  o.mean = {0.5f, 0.5f, 0.5f};
  o.std = {0.5f, 0.5f, 0.5f};
}

}  // namespace wildreid::data

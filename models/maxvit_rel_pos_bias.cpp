// See maxvit_rel_pos_bias.h.
#include "models/maxvit_rel_pos_bias.h"

#include <ATen/ATen.h>

namespace wildreid::models {

at::Tensor maxvit_relative_position_index(int64_t wh, int64_t ww) {
  const int64_t n = wh * ww;
  auto index = at::empty({n, n}, at::kLong);
  auto* out = index.data_ptr<int64_t>();
  for (int64_t q = 0; q < n; ++q)
    for (int64_t k = 0; k < n; ++k)
      out[q * n + k] = (k / ww - q / ww + wh - 1) * (2 * ww - 1) + (k % ww - q % ww + ww - 1);
  return index;
}

MaxVitRelPosBiasImpl::MaxVitRelPosBiasImpl(int64_t window_h, int64_t window_w, int64_t num_heads)
    : num_heads_(num_heads), window_area_(window_h * window_w) {
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", at::zeros({num_heads, 2 * window_h - 1, 2 * window_w - 1}));
  index_ = maxvit_relative_position_index(window_h, window_w);
}

at::Tensor MaxVitRelPosBiasImpl::bias() {
  if (index_.device() != relative_position_bias_table.device()) index_ = index_.to(relative_position_bias_table.device());
  return relative_position_bias_table.reshape({num_heads_, -1})
      .index_select(1, index_.view(-1))
      .view({num_heads_, window_area_, window_area_});
}

}  // namespace wildreid::models

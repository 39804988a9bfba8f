// See depthwise_weight_grad.h. Work is split into tasks of (channel block, batch range): channel
// blocks of at most 128 keep a task's accumulator ([k*k][block] floats, 25 KB at k = 7) in L1;
// when there are fewer blocks than threads the batch is split too and the tasks' accumulators are
// summed at the end. The inner loops are plain C++ over contiguous channels, compiled once for
// x86-64-v3 (AVX2 + FMA) and once for the baseline ISA, picked at load time (target_clones), so
// the binary stays portable.
#include "models/depthwise_weight_grad.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace wildreid::models {
namespace {

constexpr int64_t kMaxBlock = 128;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WILDREID_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WILDREID_CLONES
#endif

// Adds the gradients of channels [c0, c0 + cb) over images [n0, n1) into acc ([k*k][cb]) and
// bias ([cb]).
WILDREID_CLONES
void accumulate(const float* __restrict x, const float* __restrict gy, const DepthwiseShape& s, int64_t c0,
                int64_t cb, int64_t n0, int64_t n1, float* __restrict acc, float* __restrict bias) {
  const int64_t H = s.height, W = s.width, C = s.channels, k = s.kernel, p = k / 2;
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t oy = 0; oy < H; ++oy) {
      const float* gy_row = gy + ((n * H + oy) * W) * C + c0;
      for (int64_t ox = 0; ox < W; ++ox) {
        const float* g = gy_row + ox * C;
        for (int64_t c = 0; c < cb; ++c) bias[c] += g[c];
      }
      const int64_t ky0 = std::max<int64_t>(0, p - oy), ky1 = std::min<int64_t>(k, H + p - oy);
      for (int64_t ky = ky0; ky < ky1; ++ky) {
        const float* x_row = x + ((n * H + oy + ky - p) * W) * C + c0;
        float* acc_row = acc + ky * k * cb;
        for (int64_t ox = 0; ox < W; ++ox) {
          const float* g = gy_row + ox * C;
          const int64_t kx0 = std::max<int64_t>(0, p - ox), kx1 = std::min<int64_t>(k, W + p - ox);
          for (int64_t kx = kx0; kx < kx1; ++kx) {
            const float* xv = x_row + (ox + kx - p) * C;
            float* a = acc_row + kx * cb;
            for (int64_t c = 0; c < cb; ++c) a[c] += g[c] * xv[c];
          }
        }
      }
    }
  }
}

}  // namespace

void depthwise_weight_grad_nhwc(const float* x, const float* grad_out, const DepthwiseShape& s, float* grad_weight,
                                float* grad_bias) {
  const int64_t C = s.channels, kk = s.kernel * s.kernel;
  const int64_t blocks = (C + kMaxBlock - 1) / kMaxBlock;
  const int64_t block = (C + blocks - 1) / blocks;
  const int64_t threads = at::get_num_threads();
  const int64_t splits = std::clamp<int64_t>((threads + blocks - 1) / blocks, 1, std::max<int64_t>(1, s.batch));
  const int64_t tasks = blocks * splits;
  // Per task: [k*k][block] weight sums then [block] bias sums.
  std::vector<float> sums(static_cast<size_t>(tasks * (kk + 1) * block), 0.f);
  at::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / splits, split = t % splits;
      const int64_t c0 = b * block, cb = std::min(block, C - c0);
      const int64_t n0 = s.batch * split / splits, n1 = s.batch * (split + 1) / splits;
      float* acc = sums.data() + t * (kk + 1) * block;
      accumulate(x, grad_out, s, c0, cb, n0, n1, acc, acc + kk * cb);
    }
  });
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * block, cb = std::min(block, C - c0);
    for (int64_t c = 0; c < cb; ++c) {
      for (int64_t i = 0; i < kk; ++i) {
        float v = 0;
        for (int64_t split = 0; split < splits; ++split) v += sums[((b * splits + split) * (kk + 1)) * block + i * cb + c];
        grad_weight[(c0 + c) * kk + i] = v;
      }
      if (grad_bias) {
        float v = 0;
        for (int64_t split = 0; split < splits; ++split)
          v += sums[((b * splits + split) * (kk + 1)) * block + kk * cb + c];
        grad_bias[c0 + c] = v;
      }
    }
  }
}

}  // namespace wildreid::models

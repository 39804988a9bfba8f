// read_cuda_memory: nothing on a machine without CUDA; on a GPU, an allocation shows up in the
// allocated and reserved figures.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/cuda/CUDAFunctions.h>

#include "monitoring/cuda_memory.h"

namespace wildreid::monitoring {
namespace {

TEST(CudaMemory, AbsentWithoutCudaOrForBadDevice) {
  EXPECT_FALSE(read_cuda_memory(-1).has_value());
  EXPECT_FALSE(read_cuda_memory(static_cast<int>(c10::cuda::device_count())).has_value());
}

TEST(CudaMemory, AllocationIsCounted) {
  if (c10::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  auto before = read_cuda_memory(0);
  ASSERT_TRUE(before.has_value());
  auto t = at::empty({64 << 20}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA, 0));
  auto after = read_cuda_memory(0);
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(after->allocated - before->allocated, 64 << 20);
  EXPECT_GE(after->reserved, after->allocated);
  EXPECT_GE(after->peak_allocated, after->allocated);
}

}  // namespace
}  // namespace wildreid::monitoring

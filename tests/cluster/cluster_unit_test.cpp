// In-process tests of cluster/ that need no launcher: the single-process backend and the
// ProcessGroup wrapper (counting, staging of non-contiguous tensors, string allgather), the
// reducer's bucket layout and step rules, the rendezvous store and option parsing.
// The multi-rank behaviour is tested under mpirun in cluster_mpi_test.cpp.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/nn/modules/linear.h>

#include "cluster/cluster.h"
#include "cluster/gpu_assignment.h"
#include "cluster/gradient_reducer.h"
#include "cluster/rendezvous_store.h"
#include "cluster/single_process_group.h"

using namespace wildreid::cluster;

namespace {

std::vector<at::Tensor> leaf_params(std::vector<std::vector<int64_t>> shapes,
                                    at::ScalarType dtype = at::kFloat) {
  std::vector<at::Tensor> out;
  for (auto& s : shapes) out.push_back(at::randn(s, at::TensorOptions().dtype(dtype))
                                           .set_requires_grad(true));
  return out;
}

}  // namespace

TEST(SingleProcessGroup, CollectivesAreIdentityAndCounted) {
  auto group = std::make_shared<SingleProcessGroup>();
  auto t = at::arange(6, at::kFloat).view({2, 3});
  auto expected = t.clone();
  group->allreduce(t.t(), ReduceOp::kAvg);
  EXPECT_TRUE(t.equal(expected));
  auto gathered = group->allgather(t);
  ASSERT_EQ(gathered.size(), 1u);
  EXPECT_TRUE(gathered[0].equal(t));
  auto strings = group->allgather_strings("host-a:9100");
  ASSERT_EQ(strings.size(), 1u);
  EXPECT_EQ(strings[0], "host-a:9100");
  EXPECT_EQ(group->allgather_strings("").at(0), "");
  group->barrier();
  EXPECT_THROW(group->broadcast(t, 1), std::invalid_argument);
  // allreduce + 2 (strings) + 2 (empty strings) + allgather + barrier
  EXPECT_EQ(group->collectives_issued(), 7);
}

TEST(GradientReducer, BucketsFollowReverseOrderAndCap) {
  auto group = std::make_shared<SingleProcessGroup>();
  // 4 float params of 100, 300, 50, 50 elements (400, 1200, 200, 200 bytes); cap 500 bytes.
  auto params = leaf_params({{100}, {30, 10}, {50}, {5, 10}});
  GradientReducerOptions opts;
  opts.bucket_cap_bytes = 500;
  GradientReducer reducer(params, group, opts);
  // Reverse order: [3,2] (400 B), [1] (1200 B alone, over the cap), [0].
  std::vector<std::vector<int64_t>> expected{{3, 2}, {1}, {0}};
  EXPECT_EQ(reducer.bucket_layout(), expected);
}

TEST(GradientReducer, DtypeChangeStartsANewBucket) {
  auto group = std::make_shared<SingleProcessGroup>();
  auto a = leaf_params({{10}, {10}});
  auto b = leaf_params({{10}}, at::kDouble);
  std::vector<at::Tensor> params{a[0], b[0], a[1]};
  GradientReducer reducer(params, group);
  std::vector<std::vector<int64_t>> expected{{2}, {1}, {0}};
  EXPECT_EQ(reducer.bucket_layout(), expected);
}

TEST(GradientReducer, RejectsBadOptions) {
  auto params = leaf_params({{3}});
  GradientReducerOptions opts;
  opts.bucket_cap_bytes = 0;
  EXPECT_THROW(GradientReducer(params, std::make_shared<SingleProcessGroup>(), opts),
               std::invalid_argument);
  EXPECT_THROW(GradientReducer(params, nullptr), std::invalid_argument);
}

TEST(GradientReducer, NoSyncStepsIssueNothingAndSyncStepOnePerBucket) {
  auto group = std::make_shared<SingleProcessGroup>();
  torch::nn::Linear fc1(8, 16), fc2(16, 4), unused(4, 4);
  std::vector<at::Tensor> params;
  for (auto* m : {&fc1, &fc2, &unused})
    for (auto& p : (*m)->parameters()) params.push_back(p);
  GradientReducerOptions opts;
  opts.bucket_cap_bytes = 128;
  GradientReducer reducer(params, group, opts);
  auto x = at::randn({6, 8});
  auto loss = [&](const at::Tensor& in) { return fc2(at::relu(fc1(in))).pow(2).mean(); };

  reducer.set_sync(false);
  loss(x.narrow(0, 0, 3)).backward();
  EXPECT_EQ(reducer.finish(), 0.0);
  EXPECT_EQ(group->collectives_issued(), 0);
  auto accumulated = fc1->weight.grad().clone();

  reducer.set_sync(true);
  loss(x.narrow(0, 3, 3)).backward();
  auto local = fc1->weight.grad().clone();
  EXPECT_FALSE(local.equal(accumulated));   // the second micro-step did add to .grad
  reducer.finish();
  EXPECT_EQ(group->collectives_issued(), reducer.num_buckets());
  EXPECT_EQ(reducer.last_stats().buckets, reducer.num_buckets());
  EXPECT_TRUE(fc1->weight.grad().equal(local));  // world 1: the average is the local sum
  ASSERT_TRUE(unused->weight.grad().defined());
  EXPECT_EQ(unused->weight.grad().abs().sum().item<float>(), 0.0f);
}

// Channels-last conv weights (what ModelOptions::channels_last makes) and a parameter unused this
// step: after finish() every grad has its parameter's strides, in both reducer modes, so the fused
// AdamW kernel (which on CUDA rejects mismatched strides) steps them; the reduced values are the
// local grads (world 1).
TEST(GradientReducer, GradsKeepTheParameterLayout) {
  for (bool as_view : {false, true}) {
    auto group = std::make_shared<SingleProcessGroup>();
    auto w1 = at::randn({8, 3, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast).set_requires_grad(true);
    auto w2 = at::randn({4, 8, 1, 1}).contiguous(at::MemoryFormat::ChannelsLast).set_requires_grad(true);
    auto unused = at::randn({6, 4, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast).set_requires_grad(true);
    std::vector<at::Tensor> params{w1, w2, unused};
    GradientReducerOptions opts;
    opts.gradient_as_bucket_view = as_view;
    opts.bucket_cap_bytes = 1024;  // several buckets
    GradientReducer reducer(params, group, opts);
    for (int step = 0; step < 2; ++step) {
      reducer.set_sync(true);
      auto x = at::randn({2, 3, 10, 10}).contiguous(at::MemoryFormat::ChannelsLast);
      at::conv2d(at::relu(at::conv2d(x, w1)), w2).pow(2).mean().backward();
      const auto local1 = w1.grad().clone(), local2 = w2.grad().clone();
      reducer.finish();
      for (const auto& p : params) {
        ASSERT_TRUE(p.grad().defined());
        // Same memory layout: equal strides on every dimension of size > 1 (a stride of a size-1
        // dimension is arbitrary; autograd and empty_like may pick different ones).
        for (int64_t d = 0; d < p.dim(); ++d)
          if (p.size(d) > 1)
            EXPECT_EQ(p.grad().stride(d), p.stride(d)) << "dim " << d << " as_view " << as_view << " step " << step;
      }
      EXPECT_TRUE(at::allclose(w1.grad(), local1)) << "as_view " << as_view;
      EXPECT_TRUE(at::allclose(w2.grad(), local2)) << "as_view " << as_view;
      EXPECT_EQ(unused.grad().abs().sum().item<float>(), 0.0f);
      // The fused optimizer steps all three (one call, as trainer/adamw does).
      std::vector<at::Tensor> ps{w1, w2, unused}, grads, avgs, sqs, steps;
      for (auto& p : ps) {
        grads.push_back(p.grad());
        avgs.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
        sqs.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
        steps.push_back(at::ones({}));
      }
      at::NoGradGuard no_grad;
      at::_fused_adamw_(ps, grads, avgs, sqs, {}, steps, 1e-3, 0.9, 0.999, 0.01, 1e-8, false, false);
      for (auto& p : ps) {
        EXPECT_TRUE(at::isfinite(p).all().item<bool>());
        if (!as_view) p.mutable_grad().reset();
        else p.mutable_grad().zero_();
      }
    }
  }
}

// mpirun (every rank sees every GPU of its node) and Slurm --gpus-per-task or a per-rank
// CUDA_VISIBLE_DEVICES (each rank sees one) both get a GPU per rank from local_rank % visible.
TEST(GpuAssignment, LocalRankModuloVisibleDevices) {
  for (int local = 0; local < 8; ++local) EXPECT_EQ(choose_cuda_device(local, local, 8), local);
  for (int local = 0; local < 8; ++local) EXPECT_EQ(choose_cuda_device(local, local, 1), 0);
  EXPECT_EQ(choose_cuda_device(5, 5, 4), 1);
  try {
    choose_cuda_device(3, 1, 0);
    ADD_FAILURE() << "no visible GPU must be an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 3"), std::string::npos) << e.what();
  }
}

// Only the same physical GPU chosen twice is an error, whatever the counts were.
TEST(GpuAssignment, TwoRanksOnOneGpuAreNamed) {
  EXPECT_NO_THROW(check_distinct_gpus({"GPU-a", "GPU-b", "GPU-c"}));  // one visible GPU each, all different
  try {
    check_distinct_gpus({"GPU-a", "GPU-b", "GPU-c", "GPU-b"});  // 4 ranks, 3 GPUs seen by all
    ADD_FAILURE() << "a shared GPU must be an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ranks 1 and 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("GPU-b"), std::string::npos) << e.what();
  }
}

TEST(GradientReducer, OverlapOffStartsEveryBucketInFinish) {
  auto group = std::make_shared<SingleProcessGroup>();
  auto params = leaf_params({{64}, {64}, {64}});
  GradientReducerOptions opts;
  opts.bucket_cap_bytes = 256;
  for (bool overlap : {true, false}) {
    opts.overlap = overlap;
    GradientReducer reducer(params, group, opts);
    (params[0] + params[1] + params[2]).sum().backward();
    reducer.finish();
    EXPECT_EQ(reducer.last_stats().buckets, 3);
    EXPECT_EQ(reducer.last_stats().launched_in_backward, overlap ? 3 : 0);
    for (auto& p : params) p.mutable_grad() = at::Tensor();
  }
}

TEST(GradientReducer, TwoBackwardsWithoutFinishIsAnError) {
  auto group = std::make_shared<SingleProcessGroup>();
  auto params = leaf_params({{4}});
  GradientReducer reducer(params, group);
  params[0].sum().backward();
  EXPECT_THROW(reducer.set_sync(false), std::logic_error);
  EXPECT_ANY_THROW(params[0].sum().backward());
  reducer.finish();
  params[0].sum().backward();  // a new step is fine after finish()
  reducer.finish();
}

TEST(GradientReducer, DestructorRemovesHooks) {
  auto group = std::make_shared<SingleProcessGroup>();
  auto params = leaf_params({{4}});
  {
    GradientReducer reducer(params, group);
  }
  params[0].sum().backward();  // would call into the destroyed reducer if a hook remained
  params[0].sum().backward();
  EXPECT_EQ(group->collectives_issued(), 0);
}

TEST(BroadcastModuleState, WorldOfOneLeavesTheModuleAlone) {
  SingleProcessGroup group;
  torch::nn::Linear fc(3, 2);
  auto before = fc->weight.clone();
  broadcast_module_state(*fc, group);
  EXPECT_TRUE(fc->weight.equal(before));
}

TEST(RendezvousStore, ServerOnFreePortAndClient) {
  StoreEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  auto server = open_store_server(endpoint, 2, std::chrono::seconds(10));
  ASSERT_GT(endpoint.port, 0);
  auto client = connect_store(StoreEndpoint::parse(endpoint.address()), std::chrono::seconds(10));
  client->set("k", std::vector<uint8_t>{'v'});
  EXPECT_EQ(server->get("k"), std::vector<uint8_t>{'v'});
}

TEST(RendezvousStore, ParseRejectsMalformedAddresses) {
  EXPECT_EQ(StoreEndpoint::parse("node7:29500").host, "node7");
  EXPECT_EQ(StoreEndpoint::parse("node7:29500").port, 29500);
  EXPECT_THROW(StoreEndpoint::parse("node7"), std::invalid_argument);
  EXPECT_THROW(StoreEndpoint::parse("node7:"), std::invalid_argument);
  EXPECT_THROW(StoreEndpoint::parse("node7:70000"), std::invalid_argument);
  EXPECT_THROW(StoreEndpoint::parse(":1"), std::invalid_argument);
}

TEST(ClusterOptions, BackendNames) {
  EXPECT_EQ(parse_backend("nccl"), BackendKind::kNccl);
  EXPECT_EQ(backend_name(parse_backend("mpi")), "mpi");
  EXPECT_THROW(parse_backend("gloo"), std::invalid_argument);
}

// The "model" phase of a training run (training_run.cpp lists the phases): the backbone created
// from run.seed with its family's timm initialisation, `init.from` loaded over it (with a fresh
// classifier when init.new_head: a second stage on a new label set), moved to the rank's device
// and made identical on every rank (rank 0's state broadcast); then the objective (loss.type),
// AdamW over the trainable parameters, the fp16 loss scaler, the bucketed gradient reducer and
// the TrainStep that runs one optimizer step with them.
#pragma once
#include <memory>

#include "cluster/cluster.h"
#include "cluster/gradient_reducer.h"
#include "models/backbone.h"
#include "trainer/adamw.h"
#include "trainer/amp.h"
#include "trainer/cluster_gradient_sync.h"
#include "trainer/objective.h"
#include "trainer/train_config.h"
#include "trainer/train_step.h"

namespace wildreid::trainer {

struct RunModel {
  std::shared_ptr<models::Backbone> model;
  std::unique_ptr<Objective> objective;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<GradScaler> scaler;
  std::unique_ptr<cluster::GradientReducer> reducer;
  std::unique_ptr<ClusterGradientSync> sync;
  std::unique_ptr<TrainStep> step;
};

// The backbone on the CPU as a run starts it: timm's seeded initialisation, or with `init.from`
// (a run directory's best.safetensors, a checkpoint directory, or a timm model.safetensors) that
// file's tensors and, with init.new_head, a freshly initialised classifier (nothing else is drawn).
// Throws naming the file and every key that does not fit.
std::shared_ptr<models::Backbone> create_backbone(const TrainConfig& config, int64_t num_classes);

// Everything above on `cluster`'s device (collective: every rank calls it).
RunModel build_model(const TrainConfig& config, int64_t num_classes, cluster::Cluster& cluster);

}  // namespace wildreid::trainer

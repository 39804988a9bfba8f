// Precompiled header shared by every LibTorch-using target: the tensor, autograd and nn module
// headers nearly every such file needs. Deliberately not <torch/torch.h> (which pulls in data,
// serialization and optimizers) to keep the PCH small and compile times short on 2 cores.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/functional/activation.h>
#include <torch/types.h>
#include <torch/utils.h>

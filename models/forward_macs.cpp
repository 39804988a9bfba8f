// See forward_macs.h. The callbacks are plain functions, so the count lives in thread-local state.
#include "models/forward_macs.h"

#include <ATen/record_function.h>

#include <array>
#include <cstring>

namespace wildreid::models {
namespace {

thread_local int64_t t_macs = 0;
thread_local int t_depth = 0;  // counted ops open on this thread

enum class Kind { kConv, kMatmul, kAddmm, kAttention };
struct CountedOp {
  const char* name;
  Kind kind;
};
constexpr std::array<CountedOp, 11> kCounted{{
    {"aten::conv2d", Kind::kConv},       {"aten::convolution", Kind::kConv}, {"aten::_convolution", Kind::kConv},
    {"aten::linear", Kind::kMatmul},     {"aten::matmul", Kind::kMatmul},    {"aten::mm", Kind::kMatmul},
    {"aten::bmm", Kind::kMatmul},        {"aten::addmm", Kind::kAddmm},      {"aten::baddbmm", Kind::kAddmm},
    {"aten::scaled_dot_product_attention", Kind::kAttention}, {"aten::addbmm", Kind::kAddmm},
}};

const at::Tensor* tensor_at(c10::ArrayRef<const c10::IValue> values, size_t i) {
  return i < values.size() && values[i].isTensor() ? &values[i].toTensor() : nullptr;
}

// MACs per element of the op's output, from its inputs (only readable in the start callback).
int64_t macs_per_output(const at::RecordFunction& fn, Kind kind) {
  const auto inputs = fn.inputs();
  switch (kind) {
    case Kind::kConv: {  // (input, weight, ...): weight [O, C/groups, kh, kw]
      const at::Tensor* w = tensor_at(inputs, 1);
      return w && w->dim() >= 3 && w->size(0) > 0 ? w->numel() / w->size(0) : 0;
    }
    case Kind::kMatmul: {  // (a, b): inner dimension = a's last
      const at::Tensor* a = tensor_at(inputs, 0);
      return a && a->dim() > 0 ? a->size(-1) : 0;
    }
    case Kind::kAddmm: {  // (bias, a, b)
      const at::Tensor* a = tensor_at(inputs, 1);
      return a && a->dim() > 0 ? a->size(-1) : 0;
    }
    case Kind::kAttention: {  // (q [..., N, D], k [..., M, D], v [..., M, Dv]) -> [..., N, Dv]
      const at::Tensor* q = tensor_at(inputs, 0);
      const at::Tensor* k = tensor_at(inputs, 1);
      const at::Tensor* v = tensor_at(inputs, 2);
      if (!q || !k || !v || q->dim() < 2 || k->dim() < 2 || v->dim() < 2 || v->size(-1) == 0) return 0;
      // Per output element (one of Dv per query row): M x (D + Dv) / Dv, kept exact below.
      return k->size(-2) * (q->size(-1) + v->size(-1));
    }
  }
  return 0;
}

struct Open : at::ObserverContext {
  Kind kind;
  bool outermost;
  int64_t per_output = 0;
  Open(Kind k, bool o) : kind(k), outermost(o) {}
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const char* name = fn.name();
  for (const auto& op : kCounted)
    if (std::strcmp(name, op.name) == 0) {
      auto open = std::make_unique<Open>(op.kind, t_depth++ == 0);
      if (open->outermost) open->per_output = macs_per_output(fn, op.kind);
      return open;
    }
  return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  auto* open = static_cast<Open*>(context);
  if (!open) return;
  --t_depth;
  if (!open->outermost || fn.outputs().empty() || !fn.outputs()[0].isTensor()) return;
  const at::Tensor& out = fn.outputs()[0].toTensor();
  if (!out.defined() || out.dim() == 0) return;
  if (open->kind == Kind::kAttention) t_macs += out.numel() / out.size(-1) * open->per_output;  // rows x M x (D + Dv)
  else t_macs += out.numel() * open->per_output;
}

}  // namespace

ForwardMacCounter::ForwardMacCounter() {
  t_macs = 0;
  t_depth = 0;
  handle_ = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true).needsOutputs(true).scopes({at::RecordScope::FUNCTION}));
}

ForwardMacCounter::~ForwardMacCounter() { at::removeCallback(handle_); }

int64_t ForwardMacCounter::macs() const { return t_macs; }

}  // namespace wildreid::models

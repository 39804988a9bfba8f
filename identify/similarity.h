// Global similarity: cosine of L2-normalised embeddings, computed as blocked matrix products
// (a block of queries against the whole database at a time, on the GPU when one is given) and
// reduced at once to each query's top-B database images, so the full query x database matrix
// never has to exist. Queries are compared only with database images of the same group (the
// dataset, when identification is per dataset).
#pragma once
#include <cstdint>
#include <string>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

namespace wildreid::identify {

at::Tensor l2_normalize(const at::Tensor& x);  // rows to unit length (zero rows stay zero)

struct ShortlistOptions {
  int64_t top = 100;        // B; <= 0 or >= database size: every database image (sorted)
  int64_t block = 256;      // queries per matrix product
  c10::Device device = c10::Device(c10::kCPU);
};

// For each query its top-B database rows by cosine, best first.
struct Shortlist {
  at::Tensor index;  // int64 [Q, B] positions in the database matrix; -1 past the query's candidates
  at::Tensor score;  // float32 [Q, B] cosine; -inf where index is -1
};

// queries [Q, D] and database [N, D] already L2-normalised; groups int64 [Q] / [N] (undefined:
// one group). Results are on the CPU.
Shortlist cosine_shortlist(const at::Tensor& queries, const at::Tensor& database, const at::Tensor& query_group,
                           const at::Tensor& database_group, const ShortlistOptions& options);

// Cosine of given pairs: query i with database row db_index[i, j] (-1 gives -inf), for
// db_index int64 [Q, B]; result float32 [Q, B] on the CPU. Blocked like cosine_shortlist.
at::Tensor pair_cosine(const at::Tensor& queries, const at::Tensor& database, const at::Tensor& db_index,
                       const ShortlistOptions& options);

// "auto" -> CUDA when available, else CPU; "cpu"; "cuda" / "cuda:N" (error when unavailable).
c10::Device resolve_device(const std::string& name);

}  // namespace wildreid::identify

// The classifier component: a fine-tuned model's head, softmaxed over the classes that are
// identities of the scenario's database (so a withheld identity in the calibration scenario
// cannot be predicted, just as a new individual cannot in the real one), optionally only those
// of the query's dataset; the prediction is the most probable identity, the confidence its
// probability. Logits map to identities through the model's label names ("dataset/identity").
#pragma once
#include <set>
#include <string>
#include <vector>

#include "identify/embeddings_file.h"
#include "identify/prediction.h"
#include "identify/scenario.h"

namespace wildreid::identify {

// Throws naming the model when it has no logits or none of its label names is a database
// identity of the scenario.
Predictions classify(const ModelEmbeddings& model, const Scenario& scenario, const RowTable& table,
                     bool within_dataset);

// [datasets, C] bool: class c may be predicted for a query of dataset d — its key is one of
// `database_keys` and, with within_dataset, starts with "<dataset d>/". Shared by the classifier
// and the MLP.
at::Tensor class_mask_by_dataset(const std::vector<std::string>& class_keys, const RowTable& table,
                                 bool within_dataset, const std::set<std::string>& database_keys);

// Softmax over the columns where `allowed` is true (others get probability 0): the common step
// of the classifier and the MLP components. logits [Q, C], allowed bool [Q, C]; class_keys[c] names column c;
// a query with no allowed column gets no identity.
Predictions argmax_softmax(const at::Tensor& logits, const at::Tensor& allowed,
                           const std::vector<std::string>& class_keys);

}  // namespace wildreid::identify

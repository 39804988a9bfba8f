// The one place where `trainer` wires local matchers (matching/) into identify's pair-score
// interface (identify/pair_scorer.h): identify and matching never include each other.
#pragma once
#include "identify/pair_scorer.h"

namespace wildreid::commands {

// The factory `trainer identify` hands to identify::run_identify for `type: local` pipelines:
// each becomes a matching::LocalPipeline (SIFT or ALIKED features, ratio or LightGlue matching).
identify::PairScorerFactory pair_scorer_factory();

}  // namespace wildreid::commands

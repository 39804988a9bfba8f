// No local matcher is linked into this build yet; matching/ provides one (SIFT, ALIKED +
// LightGlue) and this file then builds it from the pipeline's options.
#include "trainer/commands/pair_scorers.h"

namespace wildreid::commands {

identify::PairScorerFactory pair_scorer_factory() { return {}; }

}  // namespace wildreid::commands

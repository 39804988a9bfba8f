// See rank_failure.h.
#include "trainer/commands/rank_failure.h"

#include <stdexcept>
#include <string>

#include "cluster/cluster.h"

namespace wildreid::commands {

void run_reporting_failure(cluster::Cluster& cluster, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    const std::string message =
        what.rfind("rank ", 0) == 0 ? what : "rank " + std::to_string(cluster.rank()) + ": " + what;
    cluster.report_failure(message);
    throw std::runtime_error(message);
  }
}

}  // namespace wildreid::commands

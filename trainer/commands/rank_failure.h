// The failure rule of every collective command (train, embed): an exception on one rank is
// reported to the peers, which then exit naming that rank instead of waiting in their next
// collective, and is rethrown with the rank in front, so the user's message says where it failed.
#pragma once
#include <functional>

namespace wildreid::cluster { class Cluster; }

namespace wildreid::commands {

// Runs `body`; on an exception reports "rank R: <what>" to the peers and rethrows it as
// std::runtime_error with that message (a message already starting with "rank " is kept).
void run_reporting_failure(cluster::Cluster& cluster, const std::function<void()>& body);

}  // namespace wildreid::commands

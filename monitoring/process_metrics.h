// Process resident memory and CPU seconds, read from /proc at scrape time (a collect hook), so
// they cost nothing between scrapes and are fresh in every one.
#pragma once

namespace wildreid::monitoring {

class Registry;

// Registers wildreid_process_resident_memory_bytes and wildreid_process_cpu_seconds_total and a
// hook that refreshes them before every collect().
void register_process_metrics(Registry& registry);

// Current values (0 when /proc cannot be read); exposed for tests.
double read_resident_memory_bytes();
double read_cpu_seconds();

}  // namespace wildreid::monitoring

// The rendezvous: rank 0 opens a c10d TCPStore on a free port (port 0: the kernel picks it, so
// two jobs on one node never collide) and the address travels to the other ranks over MPI
// (cluster.cpp). The host is WILDREID_STORE_HOST when set, 127.0.0.1 when every rank is on
// one node, else rank 0's node name. Each user of the store (NCCL, the watchdog) gets its own
// client connection, so a blocked request of one never delays the other.
#pragma once
#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "cluster/topology.h"

namespace c10d { class Store; }

namespace wildreid::cluster {

struct StoreEndpoint {
  std::string host;
  uint16_t port = 0;
  std::string address() const { return host + ":" + std::to_string(port); }
  // "host:port"; throws std::invalid_argument naming the text when malformed.
  static StoreEndpoint parse(const std::string& address);
};

// Host the other ranks should connect to (see above); called on rank 0.
std::string choose_store_host(const Topology& topology, bool single_node);

// Rank 0: starts the server on a free port of `host`; fills endpoint.port.
c10::intrusive_ptr<c10d::Store> open_store_server(StoreEndpoint& endpoint, int world_size,
                                                  std::chrono::milliseconds timeout);
// Any rank: a new client connection; throws std::runtime_error naming the address.
c10::intrusive_ptr<c10d::Store> connect_store(const StoreEndpoint& endpoint,
                                              std::chrono::milliseconds timeout);

}  // namespace wildreid::cluster

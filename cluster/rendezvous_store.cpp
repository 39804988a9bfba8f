// See rendezvous_store.h.
#include "cluster/rendezvous_store.h"
#include "cluster/error_text.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <stdexcept>

namespace wildreid::cluster {

StoreEndpoint StoreEndpoint::parse(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    throw std::invalid_argument("rendezvous address '" + address + "' is not host:port");
  StoreEndpoint e;
  e.host = address.substr(0, colon);
  long port = std::strtol(address.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535)
    throw std::invalid_argument("rendezvous address '" + address + "' has a bad port");
  e.port = static_cast<uint16_t>(port);
  return e;
}

std::string choose_store_host(const Topology& topology, bool single_node) {
  if (const char* host = std::getenv("WILDREID_STORE_HOST"); host && host[0]) return host;
  if (single_node) return "127.0.0.1";
  return topology.node_name;
}

c10::intrusive_ptr<c10d::Store> open_store_server(StoreEndpoint& endpoint, int world_size,
                                                  std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = 0;
  options.isServer = true;
  options.numWorkers = world_size;
  options.waitWorkers = false;
  options.timeout = timeout;
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(endpoint.host, options);
    endpoint.port = store->getPort();
    return store;
  } catch (const std::exception& e) {
    throw std::runtime_error("rank 0: cannot open the rendezvous store on " + endpoint.host +
                             ": " + error_text(e));
  }
}

c10::intrusive_ptr<c10d::Store> connect_store(const StoreEndpoint& endpoint,
                                              std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = endpoint.port;
  options.isServer = false;
  options.waitWorkers = false;
  options.timeout = timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(endpoint.host, options);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot connect to the rendezvous store at " + endpoint.address() +
                             ": " + error_text(e));
  }
}

}  // namespace wildreid::cluster

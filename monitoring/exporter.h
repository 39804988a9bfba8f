// One HTTP exporter per rank, on civetweb (the server prometheus-cpp embeds). It answers exactly
// GET /metrics with the registry's text exposition (gzip when asked); any other path is 404 and
// any other method 405. Requests are bounded in size and time by civetweb's own limits, and the
// worker pool is small so a flood of scrapes queues instead of stealing the trainer's cores.
// Its own request counts are metrics in the same registry, so tests can check nothing was lost.
#pragma once
#include <functional>
#include <memory>
#include <string>

namespace wildreid::monitoring {

class Registry;

struct ExporterOptions {
  std::string bind = "0.0.0.0";     // IPv4 address or host name to listen on
  int port = 0;                     // 1..65535
  bool port_fallback = false;       // port taken: try port+1, ... (max_fallback_tries), logged
  int max_fallback_tries = 64;
  int worker_threads = 2;           // concurrent requests served; more connections queue
  int request_timeout_ms = 5000;    // reading a request or writing a reply longer than this aborts
  int max_request_bytes = 8192;     // request line + headers; larger requests are refused
  // Where start-up notes (fallback port) and civetweb's errors go; default: stderr.
  std::function<void(const std::string&)> log;
};

class Exporter {
 public:
  // Listens at once; throws std::runtime_error naming bind:port when it cannot (port in use and
  // no fallback, all fallback ports taken, address not local).
  Exporter(Registry& registry, ExporterOptions options);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  int port() const;                  // the port actually bound
  const std::string& bind() const;
  void stop();                       // idempotent; waits for in-flight requests

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wildreid::monitoring

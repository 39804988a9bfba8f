// One HTTP exporter per rank: prometheus-cpp's Exposer (civetweb inside) serves this rank's
// registry at GET /metrics in the text format, gzipped when the scraper asks. What this file adds
// around it, through civetweb's callbacks and options:
// - routing: any other path is 404 and any other method 405, so nothing reaches civetweb's file
//   serving (no document_root is configured anyway);
// - bounded requests (size and time limits) and a small worker pool at nice 19, so a flood of
//   scrapes queues instead of stealing the trainer's cores;
// - a taken port fails start-up with a message naming bind:port, or moves to the next ports;
// - its own request counts, wildreid_exporter_requests_total{code} in the same registry, so tests
//   can check nothing was lost (the library adds exposer_scrapes_total and
//   exposer_transferred_bytes_total of its own);
// - a hook run before every scrape (fresh /proc figures);
// - a clean stop while Prometheus may be scraping (see stop()).
#pragma once
#include <functional>
#include <memory>
#include <string>

namespace wildreid::monitoring {

class RankRegistry;

struct ExporterOptions {
  std::string bind = "0.0.0.0";     // IPv4 address or host name to listen on
  int port = 0;                     // 1..65535
  bool port_fallback = false;       // port taken: try port+1, ... (max_fallback_tries), logged
  int max_fallback_tries = 64;
  int worker_threads = 2;           // concurrent requests served; more connections queue
  int request_timeout_ms = 5000;    // reading a request or writing a reply longer than this aborts
  int max_request_bytes = 8192;     // request line + headers; larger requests are refused
  // Where start-up notes (fallback port) go; default: stderr.
  std::function<void(const std::string&)> log;
  // Runs at the start of every scrape, on the exporter's thread; must be quick and thread-safe.
  std::function<void()> before_scrape;
};

class Exporter {
 public:
  // Listens at once; throws std::runtime_error naming bind:port when it cannot (port in use and
  // no fallback, all fallback ports taken, address not local).
  Exporter(RankRegistry& registry, ExporterOptions options);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  int port() const;                  // the port actually bound
  const std::string& bind() const;
  // Idempotent. New scrapes get 503, scrapes in flight finish, then the server stops
  // (prometheus::Exposer frees its /metrics handler before stopping civetweb, so a scrape still
  // running at that moment would use freed memory).
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wildreid::monitoring

// prometheus::Exposer with civetweb callbacks. civetweb calls begin_request for every parsed
// request before any handler, so routing is two comparisons there and only GET /metrics reaches
// the library's handler, which collects the registry through Scrape below.
#include "monitoring/exporter.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "monitoring/civetweb_thread_stack.h"
#include "monitoring/rank_registry.h"

namespace wildreid::monitoring {

namespace {

// What the Exposer collects for each GET /metrics: the scrape is counted first (so scrape n shows
// n), then the before-scrape hook runs, then the registry is collected.
class Scrape final : public prometheus::Collectable {
 public:
  Scrape(std::shared_ptr<prometheus::Registry> registry, prometheus::Counter& scrapes,
         std::function<void()> before_scrape)
      : registry_(std::move(registry)), scrapes_(scrapes), before_scrape_(std::move(before_scrape)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    scrapes_.Increment();
    if (before_scrape_) {
      try {
        before_scrape_();
      } catch (const std::exception&) {
        // stale process figures are better than a failed scrape
      }
    }
    return registry_->Collect();
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& scrapes_;
  std::function<void()> before_scrape_;
};

}  // namespace

struct Exporter::Impl {
  ExporterOptions options;
  std::shared_ptr<Scrape> scrape;
  std::unique_ptr<prometheus::Exposer> exposer;
  int port = 0;
  prometheus::Counter* not_found = nullptr;
  prometheus::Counter* bad_method = nullptr;
  prometheus::Counter* refused = nullptr;  // civetweb's own error replies, and 503 while stopping
  std::atomic<int> in_flight{0};           // GET /metrics between begin_request and end_request
  std::atomic<bool> closing{false};

  explicit Impl(ExporterOptions o) : options(std::move(o)) {}
  void log(const std::string& message) const {
    if (options.log) options.log(message);
    else std::fprintf(stderr, "%s\n", message.c_str());
  }
};

namespace {

// civetweb's callbacks are plain functions and prometheus-cpp owns the server (its user data is
// the CivetServer), so a callback finds its exporter by the civetweb context it runs in:
// init_context, called inside the Exposer's constructor on the starting thread, records the
// exporter being started; exit_context, when the server is gone, forgets it.
std::mutex contexts_mutex;
std::map<const mg_context*, Exporter::Impl*> contexts;
thread_local Exporter::Impl* starting = nullptr;
thread_local std::string start_error;  // civetweb's first complaint while starting (bind errors)

void init_context(const mg_context* ctx) {
  std::lock_guard lock(contexts_mutex);
  if (starting) contexts[ctx] = starting;
}

void exit_context(const mg_context* ctx) {
  std::lock_guard lock(contexts_mutex);
  contexts.erase(ctx);
}

Exporter::Impl* exporter_of(const mg_connection* conn) {
  std::lock_guard lock(contexts_mutex);
  auto it = contexts.find(mg_get_context(conn));
  return it == contexts.end() ? nullptr : it->second;
}

void send_simple(mg_connection* conn, int status, const char* body, const char* allow = nullptr) {
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", "text/plain; charset=utf-8", -1);
  if (allow) mg_response_header_add(conn, "Allow", allow, -1);
  std::string length = std::to_string(std::strlen(body));
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_send(conn);
  mg_write(conn, body, std::strlen(body));
}

int begin_request(mg_connection* conn) {
  Exporter::Impl* impl = exporter_of(conn);
  if (!impl) return 0;
  const mg_request_info* info = mg_get_request_info(conn);
  const char* uri = info->local_uri ? info->local_uri : "";
  if (std::strcmp(uri, "/metrics") != 0) {
    impl->not_found->Increment();
    send_simple(conn, 404, "not found: only GET /metrics is served\n");
    return 404;
  }
  if (std::strcmp(info->request_method, "GET") != 0) {
    impl->bad_method->Increment();
    send_simple(conn, 405, "method not allowed: only GET /metrics is served\n", "GET");
    return 405;
  }
  impl->in_flight.fetch_add(1);
  if (impl->closing.load()) {
    impl->in_flight.fetch_sub(1);
    impl->refused->Increment();
    send_simple(conn, 503, "metrics exporter is stopping\n");
    return 503;
  }
  mg_set_user_connection_data(conn, impl);  // end_request takes it out of in_flight
  return 0;  // prometheus-cpp's handler answers
}

void end_request(const mg_connection* conn, int status) {
  if (auto* impl = static_cast<Exporter::Impl*>(mg_get_user_connection_data(conn))) {
    mg_set_user_connection_data(conn, nullptr);
    impl->in_flight.fetch_sub(1);
  }
}

int http_error(mg_connection* conn, int status, const char* message) {
  if (Exporter::Impl* impl = exporter_of(conn)) impl->refused->Increment();
  return 1;  // let civetweb send its default error page
}

// Exporter threads (master, workers) run at the lowest CPU priority: on a node whose cores are
// all busy training, a scrape then waits for a free moment instead of preempting a compute
// thread, which would stall the whole step at its next barrier or collective.
void* init_thread(const mg_context* ctx, int thread_type) {
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
  return nullptr;
}

int log_message(const mg_connection* conn, const char* message) {
  if (starting && start_error.empty()) start_error = message;
  return 1;  // otherwise civetweb's chatter (client resets, timeouts) is not ours to print
}

std::once_flag stack_check;

}  // namespace

Exporter::Exporter(RankRegistry& registry, ExporterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  auto& o = impl_->options;
  if (o.port < 1 || o.port > 65535)
    throw std::runtime_error("metrics exporter: port " + std::to_string(o.port) +
                             " out of range 1..65535");
  std::call_once(stack_check, [this] {
    if (!civetweb_stack_override_active())
      impl_->log("metrics exporter: civetweb thread stacks stay at their built-in size; start-up "
                 "may fail in processes with large static TLS (see civetweb_thread_stack.h)");
  });
  auto& requests = registry.counter("wildreid_exporter_requests_total",
                                    "HTTP requests answered by this rank's metrics exporter, by status code");
  impl_->not_found = &requests.Add({{"code", "404"}});
  impl_->bad_method = &requests.Add({{"code", "405"}});
  impl_->refused = &requests.Add({{"code", "refused"}});
  impl_->scrape = std::make_shared<Scrape>(registry.registry(), requests.Add({{"code", "200"}}),
                                           o.before_scrape);

  CivetCallbacks callbacks;
  callbacks.begin_request = begin_request;
  callbacks.end_request = end_request;
  callbacks.http_error = http_error;
  callbacks.log_message = log_message;
  callbacks.init_thread = init_thread;
  callbacks.init_context = init_context;
  callbacks.exit_context = exit_context;

  int tries = o.port_fallback ? o.max_fallback_tries : 1;
  std::string first_error;
  for (int attempt = 0; attempt < tries && o.port + attempt <= 65535; ++attempt) {
    int port = o.port + attempt;
    std::string listen = o.bind + ":" + std::to_string(port);
    std::string timeout = std::to_string(o.request_timeout_ms);
    std::vector<std::string> config = {"listening_ports", listen,
                                       "num_threads", std::to_string(o.worker_threads),
                                       "request_timeout_ms", timeout,
                                       "max_request_size", std::to_string(o.max_request_bytes),
                                       "enable_keep_alive", "yes",
                                       "keep_alive_timeout_ms", timeout};
    starting = impl_.get();
    start_error.clear();
    try {
      impl_->exposer = std::make_unique<prometheus::Exposer>(std::move(config), &callbacks);
    } catch (const std::exception& e) {
      if (first_error.empty()) first_error = start_error.empty() ? e.what() : start_error;
    }
    starting = nullptr;
    if (impl_->exposer) {
      impl_->exposer->RegisterCollectable(impl_->scrape);
      impl_->port = port;
      if (attempt > 0)
        impl_->log("metrics exporter: port " + std::to_string(o.port) + " in use, listening on " +
                   listen + " instead (port_fallback)");
      return;
    }
  }
  std::string what = "metrics exporter: cannot listen on " + o.bind + ":" + std::to_string(o.port);
  if (o.port_fallback)
    what += " or the next " + std::to_string(tries - 1) + " ports";
  throw std::runtime_error(what + " (" + first_error +
                           "); is the port in use? choose another metrics.port or enable "
                           "metrics.port_fallback");
}

Exporter::~Exporter() { stop(); }

int Exporter::port() const { return impl_->port; }
const std::string& Exporter::bind() const { return impl_->options.bind; }

void Exporter::stop() {
  if (!impl_ || !impl_->exposer) return;
  impl_->closing = true;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(2 * impl_->options.request_timeout_ms);
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->exposer.reset();
}

}  // namespace wildreid::monitoring

// civetweb glue. begin_request sees every parsed request, so routing is one comparison and
// nothing falls through to civetweb's file serving (no document_root is configured anyway).
#include "monitoring/exporter.h"

#include <civetweb.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "monitoring/civetweb_thread_stack.h"
#include "monitoring/exposition.h"
#include "monitoring/gzip.h"
#include "monitoring/metrics.h"
#include "monitoring/registry.h"

namespace wildreid::monitoring {

struct Exporter::Impl {
  Registry& registry;
  ExporterOptions options;
  mg_context* context = nullptr;
  int port = 0;
  Counter* ok = nullptr;
  Counter* not_found = nullptr;
  Counter* bad_method = nullptr;
  Counter* refused = nullptr;   // civetweb's own error replies (malformed, too large, timeout)
  Counter* bytes = nullptr;

  Impl(Registry& r, ExporterOptions o) : registry(r), options(std::move(o)) {}
  void log(const std::string& message) const {
    if (options.log) options.log(message);
    else std::fprintf(stderr, "%s\n", message.c_str());
  }
};

namespace {

void send_simple(mg_connection* conn, int status, const char* body, const char* allow = nullptr) {
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", "text/plain; charset=utf-8", -1);
  if (allow) mg_response_header_add(conn, "Allow", allow, -1);
  std::string length = std::to_string(std::strlen(body));
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_send(conn);
  mg_write(conn, body, std::strlen(body));
}

int handle_request(mg_connection* conn) {
  auto* impl = static_cast<Exporter::Impl*>(mg_get_user_data(mg_get_context(conn)));
  const mg_request_info* info = mg_get_request_info(conn);
  const char* uri = info->local_uri ? info->local_uri : "";
  if (std::strcmp(uri, "/metrics") != 0) {
    impl->not_found->increment();
    send_simple(conn, 404, "not found: only GET /metrics is served\n");
    return 404;
  }
  if (std::strcmp(info->request_method, "GET") != 0) {
    impl->bad_method->increment();
    send_simple(conn, 405, "method not allowed: only GET /metrics is served\n", "GET");
    return 405;
  }
  // Count this scrape before collecting so the exposition includes it (scrape n shows n).
  impl->ok->increment();
  std::string body = serialize(impl->registry.collect());
  bool gzip = accepts_gzip(mg_get_header(conn, "Accept-Encoding"));
  if (gzip) body = gzip_compress(body);
  impl->bytes->increment(static_cast<double>(body.size()));
  mg_response_header_start(conn, 200);
  mg_response_header_add(conn, "Content-Type", kExpositionContentType, -1);
  if (gzip) mg_response_header_add(conn, "Content-Encoding", "gzip", -1);
  std::string length = std::to_string(body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_send(conn);
  mg_write(conn, body.data(), body.size());
  return 200;
}

int begin_request(mg_connection* conn) {
  try {
    return handle_request(conn);
  } catch (const std::exception& e) {
    send_simple(conn, 500, "internal error while collecting metrics\n");
    return 500;
  }
}

int http_error(mg_connection* conn, int status, const char* message) {
  auto* impl = static_cast<Exporter::Impl*>(mg_get_user_data(mg_get_context(conn)));
  if (impl) impl->refused->increment();
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
  return 1;  // civetweb's chatter (client resets, timeouts) is not ours to print
}

std::once_flag civetweb_init;

}  // namespace

Exporter::Exporter(Registry& registry, ExporterOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {
  auto& o = impl_->options;
  if (o.port < 1 || o.port > 65535)
    throw std::runtime_error("metrics exporter: port " + std::to_string(o.port) +
                             " out of range 1..65535");
  std::call_once(civetweb_init, [this] {
    mg_init_library(0);
    if (!civetweb_stack_override_active())
      impl_->log("metrics exporter: civetweb thread stacks stay at their built-in size; start-up "
                 "may fail in processes with large static TLS (see civetweb_thread_stack.h)");
  });
  auto& requests = registry.counter("wildreid_exporter_requests_total",
                                    "HTTP requests answered by this rank's metrics exporter, by status code");
  impl_->ok = &requests.add({{"code", "200"}});
  impl_->not_found = &requests.add({{"code", "404"}});
  impl_->bad_method = &requests.add({{"code", "405"}});
  impl_->refused = &requests.add({{"code", "refused"}});
  impl_->bytes = &registry.counter("wildreid_exporter_response_bytes_total",
                                   "Bytes of /metrics bodies sent (after gzip)").add();

  mg_callbacks callbacks{};
  callbacks.begin_request = begin_request;
  callbacks.http_error = http_error;
  callbacks.log_message = log_message;
  callbacks.init_thread = init_thread;

  int tries = o.port_fallback ? o.max_fallback_tries : 1;
  std::string first_error;
  for (int attempt = 0; attempt < tries && o.port + attempt <= 65535; ++attempt) {
    int port = o.port + attempt;
    std::string listen = o.bind + ":" + std::to_string(port);
    std::string threads = std::to_string(o.worker_threads);
    std::string timeout = std::to_string(o.request_timeout_ms);
    std::string max_request = std::to_string(o.max_request_bytes);
    const char* config[] = {"listening_ports", listen.c_str(),
                            "num_threads", threads.c_str(),
                            "request_timeout_ms", timeout.c_str(),
                            "max_request_size", max_request.c_str(),
                            "enable_keep_alive", "yes",
                            "keep_alive_timeout_ms", timeout.c_str(),
                            nullptr};
    mg_init_data init{&callbacks, impl_.get(), config};
    char error_text[256] = {0};
    unsigned error_code = 0;
    mg_error_data error{&error_code, error_text, sizeof(error_text)};
    impl_->context = mg_start2(&init, &error);
    if (impl_->context) {
      impl_->port = port;
      if (attempt > 0)
        impl_->log("metrics exporter: port " + std::to_string(o.port) + " in use, listening on " +
                   listen + " instead (port_fallback)");
      return;
    }
    if (first_error.empty()) first_error = error_text[0] ? error_text : "unknown civetweb error";
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
  if (impl_ && impl_->context) {
    mg_stop(impl_->context);
    impl_->context = nullptr;
  }
}

}  // namespace wildreid::monitoring

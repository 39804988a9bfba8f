// The exporter over real loopback sockets: routing (404/405), content type, gzip, port errors
// and fallback, robustness (malformed and oversized requests, a flood of concurrent scrapes, a
// stop while scraping) with the exporter's own request counters checked exactly afterwards, and
// start-up inside a process with LibTorch+CUDA-sized static TLS.
#include <gtest/gtest.h>
#include <zlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "monitoring/civetweb_thread_stack.h"
#include "monitoring/exporter.h"
#include "monitoring/rank_registry.h"
#include "tests/monitoring/exposition_reader.h"
#include "tests/monitoring/http_test_client.h"

namespace wildreid::monitoring {
namespace {

using testing::free_loopback_port;
using testing::http_get;
using testing::http_raw;
using testing::sample_value;

std::string gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("not a complete gzip stream");
  return out;
}

// 256 KiB of static TLS in this executable, like a process that loads LibTorch + CUDA: glibc puts
// it on every thread's stack, so civetweb's built-in 100 KiB thread stacks would not fit and every
// exporter in this binary would fail to start without civetweb_thread_stack.cpp.
thread_local volatile char tls_ballast[256 << 10];

TEST(ExporterStack, StartsInAProcessWithLargeStaticTls) {
  tls_ballast[sizeof(tls_ballast) - 1] = 1;
  EXPECT_TRUE(civetweb_stack_override_active());
  RankRegistry registry;
  ExporterOptions o;
  o.bind = "127.0.0.1";
  o.port = free_loopback_port();
  o.port_fallback = true;
  Exporter exporter(registry, o);
  EXPECT_EQ(http_get(exporter.port(), "/metrics").status, 200);
}

struct Fixture : ::testing::Test {
  RankRegistry registry{{{"job", "test"}}};
  std::unique_ptr<Exporter> exporter;
  int port = 0;
  void SetUp() override {
    registry.counter("wildreid_train_images_total", "images").Add({}).Increment(42);
    ExporterOptions o;
    o.bind = "127.0.0.1";
    o.port = free_loopback_port();
    o.port_fallback = true;  // another test may grab the free port first
    o.request_timeout_ms = 1000;
    exporter = std::make_unique<Exporter>(registry, o);
    port = exporter->port();
  }
  double requests(const std::string& code) {
    return registry.counter("wildreid_exporter_requests_total", "").Add({{"code", code}}).Value();
  }
};

TEST_F(Fixture, ServesMetricsWithContentType) {
  auto r = http_get(port, "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"].rfind("text/plain", 0), 0u) << r.headers["content-type"];
  EXPECT_EQ(r.headers.count("content-encoding"), 0u);
  EXPECT_EQ(sample_value(r.body, "wildreid_train_images_total{job=\"test\"}"), 42);
  // The scrape counts itself, so the first scrape reports 1.
  EXPECT_EQ(sample_value(r.body, "wildreid_exporter_requests_total{code=\"200\",job=\"test\"}"), 1);
}

TEST_F(Fixture, QueryStringIsIgnored) {
  EXPECT_EQ(http_get(port, "/metrics?name[]=x").status, 200);
}

TEST_F(Fixture, GzipWhenAsked) {
  auto r = http_get(port, "/metrics", "Accept-Encoding: deflate, gzip;q=0.9\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-encoding"], "gzip");
  EXPECT_EQ(std::stoul(r.headers["content-length"]), r.body.size());
  std::string text = gunzip(r.body);
  EXPECT_EQ(sample_value(text, "wildreid_train_images_total{job=\"test\"}"), 42);
}

TEST_F(Fixture, UnknownPathIs404AndWrongMethodIs405) {
  EXPECT_EQ(http_get(port, "/").status, 404);
  EXPECT_EQ(http_get(port, "/metrics/extra").status, 404);
  EXPECT_EQ(http_get(port, "/../etc/passwd").status, 404);
  auto post = http_raw(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                             "Connection: close\r\n\r\nabc");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET");
  EXPECT_EQ(http_raw(port, "DELETE /metrics HTTP/1.1\r\nConnection: close\r\n\r\n").status, 405);
  EXPECT_EQ(requests("404"), 3);
  EXPECT_EQ(requests("405"), 2);
  EXPECT_EQ(requests("200"), 0);
}

TEST_F(Fixture, MalformedAndOversizedRequestsAreRefused) {
  // Garbage, a request line without a version, a header line without a colon, binary junk.
  for (const std::string raw : {std::string("HELLO\r\n\r\n"), std::string("GET\r\n\r\n"),
                                std::string("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n"),
                                std::string("\x01\x02\x03\xff\r\n\r\n", 8)}) {
    auto r = http_raw(port, raw, 2000);
    EXPECT_TRUE(r.status == 0 || (r.status >= 400 && r.status < 500)) << r.status << " for " << raw;
  }
  // 64 KiB of headers against an 8 KiB limit.
  std::string big = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 1024; ++i) big += "X-Filler-" + std::to_string(i) + ": " + std::string(48, 'a') + "\r\n";
  big += "\r\n";
  auto r = http_raw(port, big, 2000);
  EXPECT_TRUE(r.status == 0 || r.status == 413 || r.status == 431 || r.status == 400) << r.status;
  // A client that connects and says nothing is dropped after the request timeout.
  auto silent = http_raw(port, "", 4000);
  EXPECT_EQ(silent.status, 0);
  // None of that produced a successful scrape, and the exporter still serves.
  EXPECT_EQ(requests("200"), 0);
  auto ok = http_get(port, "/metrics");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(sample_value(ok.body, "wildreid_train_images_total{job=\"test\"}"), 42);
  EXPECT_EQ(requests("200"), 1);
}

TEST_F(Fixture, ManyConcurrentScrapesWhileCounting) {
  auto& images = registry.counter("wildreid_train_images_total", "images").Add({});
  constexpr int kClients = 16, kScrapesEach = 10, kIncrements = 200000;
  std::atomic<int> answered{0}, failed{0};
  std::thread trainer([&] {
    for (int i = 0; i < kIncrements; ++i) images.Increment();
  });
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kScrapesEach; ++i) {
        try {
          auto r = http_get(port, "/metrics");
          (r.status == 200 ? answered : failed).fetch_add(1);
        } catch (const std::exception&) {
          failed.fetch_add(1);
        }
      }
    });
  }
  trainer.join();
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load() + failed.load(), kClients * kScrapesEach);
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(requests("200"), answered.load());   // every answered scrape counted, nothing else
  EXPECT_EQ(images.Value(), 42 + kIncrements);   // training counts unaffected
}

// Scrapes keep coming while the exporter stops (a run's last seconds with Prometheus attached):
// each is answered, refused with 503, or finds the connection closed, and nothing crashes.
TEST_F(Fixture, StopWhileScraping) {
  std::atomic<bool> stopped{false};
  std::atomic<int> answered{0}, unexpected{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stopped) {
        try {
          int status = http_get(port, "/metrics").status;
          if (status == 200) answered.fetch_add(1);
          else if (status != 503 && status != 0) unexpected.fetch_add(1);
        } catch (const std::exception&) {
          // connection refused: the server is gone
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  exporter->stop();
  stopped = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_THROW(http_get(port, "/metrics"), std::runtime_error);
}

TEST(ExporterPort, PortInUseNamesThePort) {
  int port = free_loopback_port();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);

  RankRegistry registry;
  ExporterOptions o;
  o.bind = "127.0.0.1";
  o.port = port;
  try {
    Exporter exporter(registry, o);
    ADD_FAILURE() << "listening on a taken port succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
  std::string logged;
  o.port_fallback = true;
  o.log = [&](const std::string& m) { logged += m; };
  Exporter exporter(registry, o);
  EXPECT_GT(exporter.port(), port);
  EXPECT_NE(logged.find(std::to_string(exporter.port())), std::string::npos) << logged;
  EXPECT_EQ(http_get(exporter.port(), "/metrics").status, 200);
  ::close(fd);
}

TEST(ExporterPort, BadPortOrAddressIsAClearError) {
  RankRegistry registry;
  ExporterOptions o;
  o.bind = "127.0.0.1";
  o.port = 70000;
  EXPECT_THROW(Exporter(registry, o), std::runtime_error);
  o.port = free_loopback_port();
  o.bind = "203.0.113.7";  // TEST-NET-3: never a local address
  try {
    Exporter exporter(registry, o);
    ADD_FAILURE() << "bound to a non-local address";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("203.0.113.7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wildreid::monitoring

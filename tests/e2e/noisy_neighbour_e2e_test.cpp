// No noisy neighbour: what one client (buggy or hostile) does must not hurt the others or the
// broker behind the gateway. A storm of failed logins leaves an authenticated bystander's
// latency alone (passwords are checked on the auth pool, failed logins answered after Kafka's
// delay); idle sockets open no broker connection; a request trickling in is cut off; a
// listener at max_connections stops accepting until a connection closes; a broker outage logs
// a bounded number of lines however often clients reconnect; 10,000 idle connections, and idle
// TLS connections, cost the gateway (its own process, measured from /proc) under 32 KiB each.
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/logging.h"
#include "gateway/security/scram.h"
#include "protocol/api_versions.h"
#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "protocol/produce.h"
#include "protocol/sasl_authenticate.h"
#include "protocol/sasl_handshake.h"
#include "tests/e2e/dev_cluster_process.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/gateway_process.h"
#include "tests/e2e/http_get.h"
#include "tests/e2e/process_stats.h"
#include "tests/e2e/opaque_produce.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/scratch_dir.h"
#include "tests/e2e/secure_environment.h"
#include "tests/support/test_pki.h"

namespace kgw::e2e {
namespace proto = kgw::protocol;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

template <class Request>
std::vector<std::byte> frame(const Request& msg, std::int16_t version, std::int32_t corr) {
  return proto::encode_request(msg, version, corr, "noisy-neighbour-test").flatten();
}

// The response body as raw_connection returns it (no size prefix), decoded.
template <class Response>
bool decode(const std::vector<std::byte>& body, std::int16_t version, Response& out) {
  std::vector<std::byte> whole(4);
  const auto n = static_cast<std::uint32_t>(body.size());
  whole[0] = std::byte(n >> 24), whole[1] = std::byte(n >> 16), whole[2] = std::byte(n >> 8), whole[3] = std::byte(n);
  whole.insert(whole.end(), body.begin(), body.end());
  return proto::decode_response(proto::bytes_view(whole), version, out);
}

// SaslHandshake v1 PLAIN, then SaslAuthenticate v1 with user/password: the error code answered,
// or nullopt when the connection closed or answered something else. No Catch2 inside: storm
// threads call it.
std::optional<std::int16_t> login_plain(raw_connection& c, const std::string& user, const std::string& password) {
  if (!c.connected()) return std::nullopt;
  proto::sasl_handshake_request hs;
  hs.mechanism = "PLAIN";
  c.send(frame(hs, 1, 1));
  auto answer = c.receive_unchecked();
  proto::sasl_handshake_response hsr;
  if (!answer || !decode(*answer, 1, hsr) || hsr.error_code != 0) return std::nullopt;
  const std::string token = std::string(1, '\0') + user + std::string(1, '\0') + password;
  proto::sasl_authenticate_request auth;
  auth.auth_bytes = proto::bytes_view(reinterpret_cast<const std::byte*>(token.data()), token.size());
  c.send(frame(auth, 1, 2));
  answer = c.receive_unchecked();
  proto::sasl_authenticate_response ar;
  if (!answer || !decode(*answer, 1, ar)) return std::nullopt;
  return ar.error_code;
}

// One ApiVersions round trip on an established connection (the relay forwards it to the broker).
std::chrono::microseconds api_versions_round_trip(raw_connection& c, std::int32_t corr) {
  const auto start = clock_type::now();
  c.send(frame(proto::api_versions_request{}, 0, corr));
  auto answer = c.receive();
  REQUIRE(answer);
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start);
}

// A client connection over TLS (OpenSSL, blocking socket) that completed its handshake, for
// measuring what an idle TLS connection costs the gateway.
class tls_client {
 public:
  tls_client(std::uint16_t port, SSL_CTX* ctx) : conn_(port, false) {
    if (!conn_.connected()) return;
    ssl_ = SSL_new(ctx);
    ok_ = ssl_ && SSL_set_fd(ssl_, conn_.fd()) == 1 && SSL_set1_host(ssl_, "localhost") == 1 && SSL_connect(ssl_) == 1;
  }
  ~tls_client() { SSL_free(ssl_); }
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;
  bool ok() const { return ok_; }
  // One ApiVersions v0 round trip through the gateway to the broker.
  bool api_versions(std::int32_t corr) {
    const auto req = frame(proto::api_versions_request{}, 0, corr);
    std::size_t done = 0;
    if (SSL_write_ex(ssl_, req.data(), req.size(), &done) != 1 || done != req.size()) return false;
    std::byte size[4];
    if (!read(size, 4)) return false;
    std::vector<std::byte> body(static_cast<std::uint32_t>(size[0]) << 24 | static_cast<std::uint32_t>(size[1]) << 16 |
                                static_cast<std::uint32_t>(size[2]) << 8 | static_cast<std::uint32_t>(size[3]));
    return read(body.data(), body.size());
  }

 private:
  bool read(std::byte* p, std::size_t n) {
    while (n > 0) {
      std::size_t got = 0;
      if (SSL_read_ex(ssl_, p, n, &got) != 1) return false;
      p += got;
      n -= got;
    }
    return true;
  }
  raw_connection conn_;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

std::chrono::microseconds percentile(std::vector<std::chrono::microseconds> v, double p) {
  REQUIRE(!v.empty());
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Established TCP connections of this process whose remote port is one of `ports` (the
// gateway runs in-process: these are its broker connections).
int connections_to(const std::vector<std::uint16_t>& ports) {
  const std::set<std::uint16_t> wanted(ports.begin(), ports.end());
  int n = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string slot, local, remote, state;
      f >> slot >> local >> remote >> state;
      if (state != "01") continue;  // ESTABLISHED
      const auto colon = remote.rfind(':');
      if (colon == std::string::npos) continue;
      if (wanted.contains(static_cast<std::uint16_t>(std::stoul(remote.substr(colon + 1), nullptr, 16)))) ++n;
    }
  }
  return n;
}

// Lines one logger writes while this lives.
class captured_log {
 public:
  explicit captured_log(spdlog::logger& l) : logger_(l), saved_(l.sinks()) {
    logger_.sinks().push_back(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  ~captured_log() { logger_.sinks() = saved_; }
  int lines_containing(const std::string& text) {
    logger_.flush();
    std::istringstream in(out_.str());
    int n = 0;
    for (std::string line; std::getline(in, line);)
      if (line.find(text) != std::string::npos) ++n;
    return n;
  }

 private:
  spdlog::logger& logger_;
  std::vector<spdlog::sink_ptr> saved_;
  std::ostringstream out_;
};

}  // namespace

TEST_CASE("noisy neighbour: a storm of failed logins leaves an authenticated bystander's latency alone",
          "[e2e][noisy][timing]") {
  secure_environment env({{"storm", 1}}, [](config::gateway_config& cfg) {
    cfg.workers = 1;  // the bystander and the storm on the same relay thread
    cfg.auth_threads = 1;
  });
  const auto port = env.port("sasl");
  raw_connection bystander(port);
  REQUIRE(login_plain(bystander, "alice", "alice-secret") == std::optional<std::int16_t>(0));
  std::int32_t corr = 10;
  std::vector<std::chrono::microseconds> quiet;
  for (int i = 0; i < 200; ++i) quiet.push_back(api_versions_round_trip(bystander, corr++));

  // 300 failed logins from 12 connections at a time, each answered after the failed-login delay.
  constexpr int storm_logins = 300;
  std::atomic<int> started{0}, refused{0}, unanswered{0};
  std::atomic<long long> fastest_refusal_us{1'000'000'000};
  std::atomic<bool> storming{true};
  std::vector<std::thread> storm;
  for (int t = 0; t < 12; ++t)
    storm.emplace_back([&] {
      while (started.fetch_add(1) < storm_logins) {
        raw_connection c(port, false);
        const auto t0 = clock_type::now();
        const auto code = login_plain(c, "alice", "not-her-password");
        const auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count();
        if (code == std::optional<std::int16_t>(58)) {
          ++refused;
          long long was = fastest_refusal_us.load();
          while (took < was && !fastest_refusal_us.compare_exchange_weak(was, took)) {
          }
        } else {
          ++unanswered;
        }
      }
    });
  std::vector<std::chrono::microseconds> stormy;
  std::thread watcher([&] {
    for (auto& t : storm) t.join();
    storming = false;
  });
  while (storming) stormy.push_back(api_versions_round_trip(bystander, corr++));
  watcher.join();

  const auto quiet_p50 = percentile(quiet, 0.5), quiet_p99 = percentile(quiet, 0.99);
  const auto storm_p50 = percentile(stormy, 0.5), storm_p99 = percentile(stormy, 0.99);
  std::printf("bystander ApiVersions: quiet p50 %lld us p99 %lld us; during %d failed logins (%zu samples) p50 %lld us "
              "p99 %lld us; fastest refusal %lld us\n",
              static_cast<long long>(quiet_p50.count()), static_cast<long long>(quiet_p99.count()), refused.load(),
              stormy.size(), static_cast<long long>(storm_p50.count()), static_cast<long long>(storm_p99.count()),
              fastest_refusal_us.load());
  CHECK(refused == storm_logins);
  CHECK(unanswered == 0);
  CHECK(stormy.size() >= 100);
  CHECK(storm_p99 < 5ms);
  // Kafka's connection.failed.authentication.delay.ms (100 ms by default) before each refusal.
  CHECK(fastest_refusal_us.load() >= 95'000);
  CHECK(env.auth_events().size() == 1);  // the bystander only
}

TEST_CASE("noisy neighbour: idle sockets on a PLAINTEXT listener open no broker connection", "[e2e][noisy]") {
  e2e_environment env({{"idle", 1}}, 1);
  const auto& brokers = env.cluster().broker_ports();
  const int before = connections_to(brokers);
  std::vector<std::unique_ptr<raw_connection>> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<raw_connection>(env.gateway_port()));
  // Half a request on some of them: still no broker.
  const auto av = frame(proto::api_versions_request{}, 0, 1);
  for (int i = 0; i < 20; ++i) idle[static_cast<std::size_t>(i)]->send_bytes(av.data(), 6);
  std::this_thread::sleep_for(300ms);
  CHECK(connections_to(brokers) == before);
  // The first whole request opens this connection's broker connection, and it is answered.
  idle[0]->send_bytes(av.data() + 6, av.size() - 6);
  REQUIRE(idle[0]->receive());
  CHECK(connections_to(brokers) == before + 1);
  for (std::size_t i = 1; i < 20; ++i) CHECK_FALSE(idle[i]->closed_by_peer());
}

TEST_CASE("noisy neighbour: a request trickling in is cut off after request_read_timeout", "[e2e][noisy]") {
  e2e_environment env({{"slow", 1}}, 1, true, [](config::gateway_config& cfg) { cfg.request_read_timeout = 600ms; });
  const auto av = frame(proto::api_versions_request{}, 0, 1);
  // One byte every 100 ms: as the first request (no broker yet), and after a request answered.
  for (const bool after_first : {false, true}) {
    INFO("after a first request: " << after_first);
    raw_connection c(env.gateway_port());
    if (after_first) REQUIRE(api_versions_round_trip(c, 7) < 10s);
    const auto start = clock_type::now();
    bool closed = false;
    for (std::size_t i = 0; i < av.size() - 1 && clock_type::now() - start < 5s; ++i) {
      c.send_bytes(av.data() + i, 1);
      std::this_thread::sleep_for(100ms);
      if (c.closed_by_peer()) {
        closed = true;
        break;
      }
    }
    const auto took = clock_type::now() - start;
    CHECK(closed);
    CHECK(took >= 550ms);
    CHECK(took < 3s);
  }
  // A client sending its request in pieces, but whole within the limit, is served.
  raw_connection c(env.gateway_port());
  c.send_bytes(av.data(), 5);
  std::this_thread::sleep_for(300ms);
  c.send_bytes(av.data() + 5, av.size() - 5);
  CHECK(c.receive());
}

TEST_CASE("noisy neighbour: a large Produce that stops halfway (relayed as it arrives) is cut off after "
          "request_read_timeout or ends only its own connection when the client leaves",
          "[e2e][noisy]") {
  e2e_environment env({{"halfway", 1}}, 1, false, [](config::gateway_config& cfg) { cfg.request_read_timeout = 600ms; });
  // 256 KiB of records (never completed, so their contents do not matter): nothing reads
  // Produce here, so the gateway sends the head on as soon as it has it.
  std::vector<std::byte> records(256 * 1024, std::byte{0x5a});
  const auto pr = opaque_produce({{"halfway", proto::bytes_view(records)}});
  const auto produce = proto::encode_request(pr, 3, 1, "halfway-test").flatten();
  raw_connection bystander(env.gateway_port());
  std::int32_t corr = 100;
  REQUIRE(api_versions_round_trip(bystander, corr++) < 10s);
  for (const bool leaves : {false, true}) {
    INFO("the client leaves: " << leaves);
    raw_connection c(env.gateway_port());
    REQUIRE(api_versions_round_trip(c, corr++) < 10s);  // the connection has its broker connection
    c.send_bytes(produce.data(), produce.size() / 2);
    const auto start = clock_type::now();
    bool closed = false;
    if (leaves) {
      c.close();
    } else {
      while (!closed && clock_type::now() - start < 5s) {
        std::this_thread::sleep_for(50ms);
        closed = c.closed_by_peer();
      }
      CHECK(closed);
      CHECK(clock_type::now() - start < 3s);
    }
    // The other client is served throughout, and the gateway still serves new ones.
    CHECK(api_versions_round_trip(bystander, corr++) < 10s);
    raw_connection next(env.gateway_port());
    CHECK(api_versions_round_trip(next, corr++) < 10s);
  }
}

TEST_CASE("noisy neighbour: a listener at max_connections stops accepting until a connection closes",
          "[e2e][noisy]") {
  e2e_environment env({{"limited", 1}}, 1, true, [](config::gateway_config& cfg) {
    auto listeners = cfg.effective_listeners();
    listeners.front().max_connections = 3;
    cfg.listeners = listeners;
  });
  std::vector<std::unique_ptr<raw_connection>> open;
  std::int32_t corr = 1;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<raw_connection>(env.gateway_port()));
    REQUIRE(api_versions_round_trip(*open.back(), corr++) < 10s);
  }
  // The fourth connects (the kernel's backlog takes it) but is not served...
  raw_connection fourth(env.gateway_port());
  fourth.send(frame(proto::api_versions_request{}, 0, corr++));
  std::this_thread::sleep_for(500ms);
  std::byte b;
  CHECK(::recv(fourth.fd(), &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0);
  // ...until one of the three closes: then it is accepted and answered.
  open.pop_back();
  const auto start = clock_type::now();
  CHECK(fourth.receive());
  CHECK(clock_type::now() - start < 2s);
}

TEST_CASE("noisy neighbour: a consumer that stops reading its socket is closed after response_write_timeout",
          "[e2e][noisy]") {
  constexpr int partitions = 4;
  e2e_environment env({{"stall", partitions}}, 1, false,
                      [](config::gateway_config& cfg) { cfg.response_write_timeout = 1s; });
  {
    // About 12 MiB: more than the sockets between the gateway and the client can hold.
    // Large batches: the mock answers a Fetch with one batch per partition.
    producer p(env.cluster().bootstrap(),
               {{"linger.ms", "200"}, {"batch.num.messages", "100000"}, {"batch.size", "1000000"}});
    const auto delivered = p.produce("stall", keyed_payloads("k", 12000, 1024), clock_type::now() + 60s);
    REQUIRE(delivered.size() == 12000);
  }
  captured_log relay_lines(log::relay());
  raw_connection c(env.gateway_port());
  const int small = 16 * 1024;
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  proto::fetch_request f;
  f.max_wait_ms = 100;
  f.max_bytes = 64 << 20;
  auto& t = f.topics.emplace_back();
  t.topic = "stall";
  for (int p = 0; p < partitions; ++p) {
    auto& part = t.partitions.emplace_back();
    part.partition = p;
    part.partition_max_bytes = 16 << 20;
  }
  // Ten of them, from offsets spread over each partition's ~3,000 records: the mock answers a
  // Fetch with the one batch holding its offset (the first may hold a single record), and all
  // of it must be more than the sockets hold.
  for (std::int32_t corr = 1; corr <= 10; ++corr) {
    for (auto& part : t.partitions) part.fetch_offset = (corr - 1) * 200;
    c.send(frame(f, 4, corr));
  }
  // Not reading: within 1 to 1.5 timeouts the gateway gives up on this client.
  const auto start = clock_type::now();
  int closed = 0;
  while (clock_type::now() - start < 5s && (closed = relay_lines.lines_containing("closing connection: the client took no response")) == 0)
    std::this_thread::sleep_for(50ms);
  const auto took = clock_type::now() - start;
  CHECK(closed == 1);
  CHECK(took >= 900ms);
  CHECK(took < 3s);
  // What reached the client's buffers is readable, then the connection ends (no hang).
  std::vector<std::byte> sink(1 << 16);
  ssize_t r = 0;
  const auto drain_start = clock_type::now();
  while ((r = ::recv(c.fd(), sink.data(), sink.size(), 0)) > 0 && clock_type::now() - drain_start < 10s) {
  }
  CHECK(r <= 0);
}

TEST_CASE("noisy neighbour: a broker outage logs a bounded number of lines however often clients reconnect",
          "[e2e][noisy]") {
  e2e_environment env({{"outage", 1}}, 1, true, [](config::gateway_config& cfg) {
    cfg.workers = 2;
    cfg.upstream_connect_timeout = 500ms;
  });
  const auto av = frame(proto::api_versions_request{}, 0, 1);
  {
    raw_connection c(env.gateway_port());
    c.send(av);
    REQUIRE(c.receive());
  }
  captured_log upstream_lines(log::upstream());
  captured_log relay_lines(log::relay());
  env.cluster().set_broker_up(1, false);
  // 20 clients reconnecting as fast as they are turned away, for 2 seconds.
  std::atomic<int> attempts{0};
  std::vector<std::thread> clients;
  const auto until = clock_type::now() + 2s;
  for (int t = 0; t < 20; ++t)
    clients.emplace_back([&] {
      while (clock_type::now() < until) {
        raw_connection c(env.gateway_port(), false);
        c.send(av);
        (void)c.receive_unchecked();
        ++attempts;
      }
    });
  for (auto& t : clients) t.join();
  env.cluster().set_broker_up(1, true);
  const int upstream = upstream_lines.lines_containing("cannot connect");
  const int relay_warnings = relay_lines.lines_containing("warn");
  std::printf("broker down 2 s: %d connection attempts, %d upstream lines, %d relay warnings\n", attempts.load(),
              upstream, relay_warnings);
  CHECK(attempts >= 40);
  CHECK(upstream >= 1);
  CHECK(upstream <= 2 * 5);  // burst 5 per broker host per worker, 2 workers
  CHECK(relay_warnings <= 2 * 5);
  // Back up: served again.
  raw_connection c(env.gateway_port());
  c.send(av);
  CHECK(c.receive());
}


namespace {

// The sum of a gauge's series in a /metrics scrape (every label set), or -1 when there is none.
double gauge_sum(const std::string& text, const std::string& name) {
  double sum = -1;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(name + "{") || line.starts_with(name + " "))
      sum = std::max(sum, 0.0) + std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  return sum;
}

// The gateway's resident memory once it stopped moving (two samples 300 ms apart within 64 KiB).
std::size_t settled_rss(pid_t pid) {
  std::size_t last = resident_bytes(pid);
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(300ms);
    const std::size_t now = resident_bytes(pid);
    if ((now > last ? now - last : last - now) < (64u << 10)) return now;
    last = now;
  }
  return last;
}

}  // namespace

TEST_CASE("noisy neighbour: 10,000 idle connections (and 2,000 over TLS) cost under 32 KiB each and their accept "
          "storm leaves a working client alone",
          "[e2e][noisy][timing]") {
  constexpr int idle_count = 10'000, served_count = 1'000, tls_count = 1'000;
  constexpr std::size_t per_connection_bound = 32 * 1024;
  // The test holds a descriptor per connection; the gateway raises its own limit the same way.
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  INFO("open file limit " << files.rlim_cur << " (ulimit -Hn)");
  REQUIRE(files.rlim_cur >= static_cast<rlim_t>(idle_count + served_count + 500));

  // listen; brokers base+1..base+10; admin base+11; SASL base+12, brokers base+13..17; SSL base+18, brokers base+19..23
  const std::uint16_t base = 17560;
  REQUIRE(ports_free(base, 24));
  scratch_dir dir("idle-" + std::to_string(base), true);
  testing::test_pki pki("kgw-idle-tls");
  const auto server_cert = pki.issue_server();
  dev_cluster_process broker(1, {{"idle", 1}}, dir.path / "broker.log");
  const auto scram = security::scram_mechanism_from_name("SCRAM-SHA-256");
  std::ostringstream y;
  y << "gateway:\n  workers: 2\n"
    << "listeners:\n"
    << "  - name: plain\n    listen: 127.0.0.1:" << base << "\n    advertised_host: 127.0.0.1\n"
    << "    broker_ports: " << base + 1 << "-" << base + 5 << "\n"
    << "  - name: sasl\n    listen: 127.0.0.1:" << base + 12 << "\n    advertised_host: 127.0.0.1\n"
    << "    broker_ports: " << base + 13 << "-" << base + 17 << "\n"
    << "    security_protocol: SASL_PLAINTEXT\n    sasl:\n      mechanisms: [PLAIN]\n"
    << "  - name: tls\n    listen: 127.0.0.1:" << base + 18 << "\n    advertised_host: 127.0.0.1\n"
    << "    broker_ports: " << base + 19 << "-" << base + 23 << "\n"
    << "    security_protocol: SSL\n    tls: { certificate: " << server_cert.cert.string()
    << ", key: " << server_cert.key.string() << " }\n"
    << "principals:\n  alice:\n    credentials:\n      - \""
    << security::to_stored_form(security::make_scram_credential(*scram, "alice-secret")) << "\"\n"
    << "upstream:\n  bootstrap: \"" << broker.bootstrap() << "\"\n"
    << "admin:\n  listen: 127.0.0.1:" << base + 11 << "\n";
  std::ofstream(dir.path / "gateway.yaml") << y.str();
  gateway_process gw(dir.path / "gateway.yaml", dir.path / "gateway", "127.0.0.1:" + std::to_string(base + 11));
  gw.start();
  REQUIRE(gw.ready(clock_type::now() + 20s));
  INFO("files (config, logs) in " << dir.path);
  auto open_connections = [&] { return gauge_sum(http_get(base + 11, "/metrics").body, "kafka_gateway_connections_open"); };

  // A working client on the plaintext listener: ApiVersions round trips through to the broker.
  raw_connection worker_client(base);
  std::int32_t corr = 1;
  std::vector<std::chrono::microseconds> quiet, stormy;
  for (int i = 0; i < 200; ++i) quiet.push_back(api_versions_round_trip(worker_client, corr++));
  const std::size_t before = settled_rss(gw.pid());

  // The storm: 10,000 connections opened as fast as one thread can, half on each listener, none
  // sending a byte (a plaintext client before its first request, a SASL client before its
  // handshake), while the working client goes on.
  std::vector<std::unique_ptr<raw_connection>> idle;
  idle.reserve(idle_count);
  std::atomic<int> failed{0};
  std::atomic<bool> storming{true};
  const auto storm_start = clock_type::now();
  std::thread opener([&] {
    for (int i = 0; i < idle_count; ++i) {
      // Unchecked (no Catch2 assertion off the test's thread): connected() tells.
      auto c = std::make_unique<raw_connection>(i % 2 == 0 ? base : static_cast<std::uint16_t>(base + 12), false);
      if (!c->connected()) ++failed;
      else idle.push_back(std::move(c));
    }
    storming = false;
  });
  while (storming) stormy.push_back(api_versions_round_trip(worker_client, corr++));
  opener.join();
  const auto storm_took = clock_type::now() - storm_start;
  REQUIRE(failed == 0);
  // Accepted, every one of them (the kernel completes a connect before the gateway accepts).
  const auto accept_deadline = clock_type::now() + 30s;
  while (open_connections() < idle_count + 1 && clock_type::now() < accept_deadline) std::this_thread::sleep_for(200ms);
  CHECK(open_connections() >= idle_count + 1);
  const std::size_t with_idle = settled_rss(gw.pid());
  const std::size_t idle_each = (with_idle - std::min(with_idle, before)) / idle_count;

  // Connections that were served (one ApiVersions each, answered by the broker, so each has its
  // broker connection) and then went quiet.
  std::vector<std::unique_ptr<raw_connection>> served;
  for (int i = 0; i < served_count; ++i) {
    served.push_back(std::make_unique<raw_connection>(base));
    REQUIRE(api_versions_round_trip(*served.back(), corr++) < 10s);
  }
  const std::size_t with_served = settled_rss(gw.pid());
  const std::size_t served_each = (with_served - std::min(with_served, with_idle)) / served_count;

  // TLS clients: handshaken and idle (never a request), then served once and idle. Each holds
  // its TLS state in the gateway, but no buffers while it waits.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls_ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  REQUIRE(SSL_CTX_load_verify_locations(tls_ctx.get(), pki.ca_cert().c_str(), nullptr) == 1);
  SSL_CTX_set_verify(tls_ctx.get(), SSL_VERIFY_PEER, nullptr);
  std::vector<std::unique_ptr<tls_client>> tls_idle, tls_served;
  for (int i = 0; i < tls_count; ++i) {
    tls_idle.push_back(std::make_unique<tls_client>(static_cast<std::uint16_t>(base + 18), tls_ctx.get()));
    REQUIRE(tls_idle.back()->ok());
  }
  const std::size_t with_tls_idle = settled_rss(gw.pid());
  const std::size_t tls_idle_each = (with_tls_idle - std::min(with_tls_idle, with_served)) / tls_count;
  for (int i = 0; i < tls_count; ++i) {
    tls_served.push_back(std::make_unique<tls_client>(static_cast<std::uint16_t>(base + 18), tls_ctx.get()));
    REQUIRE(tls_served.back()->ok());
    REQUIRE(tls_served.back()->api_versions(corr++));
  }
  const std::size_t with_tls_served = settled_rss(gw.pid());
  const std::size_t tls_served_each = (with_tls_served - std::min(with_tls_served, with_tls_idle)) / tls_count;
  std::printf("with %d TLS connections handshaken and idle %zu KiB (%zu bytes each); with %d more served once, then "
              "idle %zu KiB (%zu bytes each)\n",
              tls_count, with_tls_idle / 1024, tls_idle_each, tls_count, with_tls_served / 1024, tls_served_each);
  CHECK(tls_idle_each < per_connection_bound);
  CHECK(tls_served_each < per_connection_bound);

  const auto quiet_p99 = percentile(quiet, 0.99), storm_p50 = percentile(stormy, 0.5),
             storm_p99 = percentile(stormy, 0.99);
  std::printf("gateway VmRSS %zu KiB; with %d idle connections %zu KiB (%zu bytes each); with %d more served, then "
              "idle (each with its broker connection) %zu KiB (%zu bytes each); %d connections opened in %lld ms; a "
              "working client's ApiVersions: quiet p99 %lld us, during the storm p50 %lld us p99 %lld us (%zu "
              "samples)\n",
              before / 1024, idle_count, with_idle / 1024, idle_each, served_count, with_served / 1024, served_each,
              idle_count, static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(storm_took).count()),
              static_cast<long long>(quiet_p99.count()), static_cast<long long>(storm_p50.count()),
              static_cast<long long>(storm_p99.count()), stormy.size());
  CHECK(idle_each < per_connection_bound);
  CHECK(served_each < per_connection_bound);
  CHECK(storm_p99 < 20ms);  // measured 4.5-8 ms on 2 cores (the test connects from the same machine)
  // Still serving: a new client, and one of the idle ones that finally speaks.
  raw_connection late(base);
  CHECK(api_versions_round_trip(late, corr++) < 10s);
  idle.clear();
  served.clear();
  tls_idle.clear();
  tls_served.clear();
  CHECK(gw.stop(SIGTERM, 20s) == 0);
  dir.keep = std::max({idle_each, served_each, tls_idle_each, tls_served_each}) >= per_connection_bound;
}

}  // namespace kgw::e2e

// End-to-end at the wire level: a raw socket speaks Kafka to the gateway, so the relay's own
// behaviour is checked without a client library smoothing things over: frames arriving byte by
// byte, pipelining, malformed and oversized frames (that connection closes, others carry on),
// unknown versions, and upstream loss (the client connection is closed, nothing is invented).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <optional>
#include <thread>

#include "config/gateway_config.h"
#include "gateway/gateway.h"
#include "protocol/api_versions.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/frames.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/raw_connection.h"

namespace kgw::e2e {
namespace proto = kgw::protocol;
using namespace std::chrono_literals;

namespace {

template <class M>
std::vector<std::byte> request_frame(const M& m, std::int16_t version, std::int32_t corr) {
  return proto::encode_request(m, version, corr, "raw-test").flatten();
}

std::vector<std::byte> metadata_frame(std::int32_t corr) {
  proto::metadata_request m;
  m.topics = std::vector<proto::metadata_request::metadata_request_topic>{};
  return request_frame(m, 1, corr);
}

proto::api_versions_response decode_api_versions_v0(const std::vector<std::byte>& body, std::int32_t corr) {
  return decode_response<proto::api_versions_response>(body, 0, corr);
}

// Decodes a Metadata v1 response body; checks the correlation id and that every broker is a
// gateway address. Returns the number of brokers.
std::size_t check_metadata(const std::vector<std::byte>& body, std::int32_t corr, const e2e_environment& env) {
  const auto m = decode_response<proto::metadata_response>(body, 1, corr);
  for (const auto& b : m.brokers) {
    CHECK(b.host == e2e_environment::advertised_host);
    CHECK(b.port >= env.broker_port_first());
    CHECK(b.port <= env.broker_port_last());
  }
  return m.brokers.size();
}

std::vector<std::byte> be32(std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  return {std::byte(u >> 24), std::byte(u >> 16), std::byte(u >> 8), std::byte(u)};
}

}  // namespace

TEST_CASE("relay: requests arriving byte by byte, pipelined, answered in order", "[e2e][relay]") {
  e2e_environment env({{"relay", 3}});
  if (!env.through_gateway()) return;  // wire-level checks of the gateway itself
  raw_connection c(env.gateway_port());
  std::vector<std::byte> both = request_frame(proto::api_versions_request{}, 0, 100);
  auto md = metadata_frame(101);
  both.insert(both.end(), md.begin(), md.end());
  for (std::size_t i = 0; i < both.size(); ++i) {
    c.send_bytes(&both[i], 1);
    if (i % 7 == 0) std::this_thread::sleep_for(1ms);  // let some bytes arrive alone
  }
  auto av = c.receive();
  REQUIRE(av);
  const auto avr = decode_api_versions_v0(*av, 100);
  CHECK(avr.error_code == 0);
  CHECK_FALSE(avr.api_keys.empty());
  auto m = c.receive();
  REQUIRE(m);
  CHECK(check_metadata(*m, 101, env) == 3);

  // 50 requests in one write: 50 responses, in request order.
  std::vector<std::byte> burst;
  for (int i = 0; i < 50; ++i) {
    auto f = metadata_frame(1000 + i);
    burst.insert(burst.end(), f.begin(), f.end());
  }
  c.send(burst);
  for (int i = 0; i < 50; ++i) {
    auto resp = c.receive();
    REQUIRE(resp);
    check_metadata(*resp, 1000 + i, env);
  }
  env.require_no_upstream_addresses();
}

TEST_CASE("relay: a malformed frame closes only its own connection", "[e2e][relay]") {
  e2e_environment env({{"relay", 3}});
  if (!env.through_gateway()) return;
  raw_connection good(env.gateway_port());
  good.send(metadata_frame(1));
  REQUIRE(good.receive());

  SECTION("negative size") {
    raw_connection bad(env.gateway_port());
    bad.send(be32(-5));
    CHECK_FALSE(bad.receive());
    CHECK_FALSE(bad.timed_out);  // closed, not left hanging
  }
  SECTION("larger than max_frame_size") {
    raw_connection bad(env.gateway_port());
    bad.send(be32(200 << 20));
    CHECK_FALSE(bad.receive());
    CHECK_FALSE(bad.timed_out);
  }
  SECTION("shorter than a request header") {
    raw_connection bad(env.gateway_port());
    auto f = be32(4);
    for (int i = 0; i < 4; ++i) f.push_back(std::byte{0});
    bad.send(f);
    CHECK_FALSE(bad.receive());
    CHECK_FALSE(bad.timed_out);
  }
  SECTION("Metadata at a version the gateway cannot decode") {
    raw_connection bad(env.gateway_port());
    auto f = metadata_frame(7);
    f[7] = std::byte{99};  // request_api_version low byte
    bad.send(f);
    CHECK_FALSE(bad.receive());
    CHECK_FALSE(bad.timed_out);
  }
  SECTION("garbage inside a Metadata request the gateway must decode the answer of") {
    raw_connection bad(env.gateway_port());
    auto f = be32(8);
    for (std::byte b : {std::byte{0}, std::byte{3}, std::byte{0}, std::byte{1}, std::byte{0}, std::byte{0},
                        std::byte{0}, std::byte{9}})
      f.push_back(b);  // header cut after the correlation id: no client id, no body
    bad.send(f);
    CHECK_FALSE(bad.receive());
  }
  // The other connection never noticed.
  good.send(metadata_frame(2));
  auto again = good.receive();
  REQUIRE(again);
  CHECK(check_metadata(*again, 2, env) == 3);
}

TEST_CASE("relay: ApiVersions newer than the gateway gets UNSUPPORTED_VERSION at v0", "[e2e][relay]") {
  e2e_environment env({{"relay", 3}});
  if (!env.through_gateway()) return;
  raw_connection c(env.gateway_port());
  proto::writer w;
  const auto at = w.reserve_i32();
  proto::request_header h;
  h.request_api_key = 18;
  h.request_api_version = 42;
  h.correlation_id = 5;
  h.client_id = std::string_view("future");
  h.encode(w, 2);
  w.uvarint(0);
  w.patch_i32(at, static_cast<std::int32_t>(w.size() - 4));
  c.send(w.flatten());
  auto resp = c.receive();
  REQUIRE(resp);
  const auto avr = decode_api_versions_v0(*resp, 5);
  CHECK(avr.error_code == 35);
  bool has_api_versions = false;
  for (const auto& k : avr.api_keys) has_api_versions = has_api_versions || k.api_key == 18;
  CHECK(has_api_versions);
}

TEST_CASE("relay: when the broker goes away the client connection is closed", "[e2e][relay]") {
  e2e_environment env({{"relay", 3}});
  if (!env.through_gateway()) return;
  // Broker 1 through its own gateway port.
  raw_connection c(static_cast<std::uint16_t>(env.broker_port_first() + 1));
  c.send(metadata_frame(1));
  REQUIRE(c.receive());
  env.cluster().set_broker_up(1, false);
  // The gateway must not answer for the broker: the next read sees the connection end.
  c.send(metadata_frame(2));
  CHECK_FALSE(c.receive());
  CHECK_FALSE(c.timed_out);
}

}  // namespace kgw::e2e

namespace kgw::e2e {
namespace {

// A request frame of `size` bytes (after the prefix) whose first `sent` body bytes are sent now.
std::vector<std::byte> partial_frame(std::int32_t size, std::size_t sent) {
  auto f = be32(size);
  f.resize(4 + sent, std::byte{0});
  return f;
}

}  // namespace

// Issue 9, defect 6: a size prefix used to allocate (and zero-fill) the whole declared frame
// before any byte of it arrived: eight 100 MiB prefixes cost 800 MiB.
TEST_CASE("relay: a size prefix alone costs no memory", "[e2e][relay]") {
  e2e_environment env({{"relay", 1}});
  if (!env.through_gateway()) return;
  raw_connection warm(env.gateway_port());
  warm.send(metadata_frame(1));
  REQUIRE(warm.receive());
  const std::size_t before = resident_bytes();
  std::vector<std::unique_ptr<raw_connection>> prefixes;
  for (int i = 0; i < 8; ++i) {
    prefixes.push_back(std::make_unique<raw_connection>(env.gateway_port()));
    prefixes.back()->send(partial_frame((100 << 20) - 8, 16));
  }
  std::this_thread::sleep_for(500ms);
  const std::size_t after = resident_bytes();
  INFO("resident before " << before << ", after " << after);
  CHECK(after < before + (32u << 20));
  CHECK(env.gateway_instance()->buffered_request_bytes() == 0);  // nothing reserved for a prefix
  // The gateway still serves everyone else.
  warm.send(metadata_frame(2));
  CHECK(warm.receive());
}

// Issue 9, defect 6: requests still arriving hold at most gateway.max_buffered_requests
// together; a connection that would pass it stops reading until memory frees, and small
// requests on other connections are served meanwhile.
TEST_CASE("relay: requests still arriving are bounded across connections", "[e2e][relay]") {
  constexpr std::int32_t frame = (1 << 20) - 64;  // after the prefix
  e2e_environment env({{"relay", 1}}, 3, true, [](config::gateway_config& c) {
    c.max_frame_bytes = 1u << 20;
    c.max_buffered_request_bytes = 2u << 20;  // room for two such requests
  });
  if (!env.through_gateway()) return;
  const auto& gw = *env.gateway_instance();
  auto reserved_becomes = [&](std::size_t want) {
    for (int i = 0; i < 300 && gw.buffered_request_bytes() != want; ++i) std::this_thread::sleep_for(10ms);
    return gw.buffered_request_bytes();
  };
  const std::size_t one = static_cast<std::size_t>(frame) + 4;
  auto a = std::make_unique<raw_connection>(env.gateway_port());
  auto b = std::make_unique<raw_connection>(env.gateway_port());
  auto c = std::make_unique<raw_connection>(env.gateway_port());
  a->send(partial_frame(frame, 512 << 10));
  b->send(partial_frame(frame, 512 << 10));
  CHECK(reserved_becomes(2 * one) == 2 * one);
  c->send(partial_frame(frame, 512 << 10));
  std::this_thread::sleep_for(300ms);
  CHECK(gw.buffered_request_bytes() == 2 * one);  // c waits: never more than the bound
  CHECK_FALSE(c->closed_by_peer());
  raw_connection small(env.gateway_port());
  small.send(metadata_frame(3));
  CHECK(small.receive());
  // a leaves: its share goes to c, which now reads on.
  a.reset();
  CHECK(reserved_becomes(2 * one) == 2 * one);  // b's and, once a's share is free, c's
  b.reset();
  CHECK(reserved_becomes(one) == one);  // c's
  c.reset();
  CHECK(reserved_becomes(0) == 0);
}

// Issue 9, defect 6: idle_timeout used to restart on every byte, so a request trickling in one
// byte at a time held its connection (and memory) forever. Only whole requests are activity.
TEST_CASE("relay: a request trickling in does not keep a connection alive", "[e2e][relay]") {
  e2e_environment env({{"relay", 1}}, 3, true, [](config::gateway_config& c) { c.idle_timeout = 1s; });
  if (!env.through_gateway()) return;
  raw_connection slow(env.gateway_port());
  slow.send(partial_frame(4000, 8));
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - start < 5s) {
    std::this_thread::sleep_for(100ms);
    const std::vector<std::byte> one_byte{std::byte{0}};
    slow.send(one_byte);
    closed = slow.closed_by_peer();
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  // A connection that sends whole requests stays.
  raw_connection busy(env.gateway_port());
  for (int i = 0; i < 8; ++i) {
    busy.send(metadata_frame(10 + i));
    REQUIRE(busy.receive());
    std::this_thread::sleep_for(250ms);
  }
}

}  // namespace kgw::e2e

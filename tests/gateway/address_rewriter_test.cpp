#include <catch2/catch.hpp>
#include <deque>

#include "gateway/address_rewriter.h"
#include "gateway/broker_registry.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/describe_cluster.h"
#include "protocol/fetch.h"
#include "protocol/fetch_scanner.h"
#include "protocol/find_coordinator.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/produce.h"
#include "tests/gateway/test_rewriter.h"

namespace proto = kgw::protocol;
using namespace kgw::gateway;

namespace {

struct fixture : kgw::gateway::testing::test_rewriter {
  std::deque<std::vector<std::byte>> keep;  // decoded views point into these
};

template <class M>
std::vector<std::byte> response_body(const M& m, std::int16_t version, std::int32_t corr = 77) {
  proto::writer w;
  proto::response_header h;
  h.correlation_id = corr;
  h.encode(w, proto::response_header_version(M::api_key, version));
  m.encode(w, version);
  return w.flatten();
}

// `body` must outlive the result: decoded strings are views into it.
template <class M>
M decode_response(const std::vector<std::byte>& body, std::int16_t version) {
  proto::reader r(body);
  proto::response_header h;
  h.decode(r, proto::response_header_version(M::api_key, version));
  CHECK(h.correlation_id == 77);
  M m;
  m.decode(r, version);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  return m;
}

template <class M>
M rewrite_ok(fixture& f, const M& in, std::int16_t version, bool expect_change = true) {
  auto body = response_body(in, version);
  proto::writer out;
  auto st = f.rw.rewrite({M::api_key, version, false}, body, out);
  INFO((st ? std::string() : st.error()));
  if (!expect_change) {
    CHECK(st == rewrite_status::unchanged);
    return in;
  }
  REQUIRE(st == rewrite_status::rewritten);
  return decode_response<M>(f.keep.emplace_back(out.flatten()), version);
}

}  // namespace

TEST_CASE("Metadata brokers become gateway addresses in every version") {
  for (std::int16_t v = proto::metadata_response::min_version; v <= proto::metadata_response::max_version; ++v) {
    fixture f;
    proto::metadata_response m;
    m.brokers.push_back({});
    m.brokers[0].node_id = 1;
    m.brokers[0].host = "kafka-1.internal";
    m.brokers[0].port = 9092;
    m.brokers.push_back({});
    m.brokers[1].node_id = 2;
    m.brokers[1].host = "kafka-2.internal";
    m.brokers[1].port = 9093;
    auto out = rewrite_ok(f, m, v);
    INFO("v" << v);
    REQUIRE(out.brokers.size() == 2);
    CHECK(out.brokers[0].host == "gw.local");
    CHECK(out.brokers[0].port == 30001);
    CHECK(out.brokers[1].host == "gw.local");
    CHECK(out.brokers[1].port == 30002);
    CHECK(f.reg.for_port(30002)->upstream.str() == "kafka-2.internal:9093");
  }
}

TEST_CASE("FindCoordinator single (v0-3) and batched (v4+)") {
  fixture f;
  proto::find_coordinator_response c;
  c.node_id = 3;
  c.host = "kafka-3";
  c.port = 9092;
  for (std::int16_t v = 0; v <= 3; ++v) {
    auto out = rewrite_ok(f, c, v);
    CHECK(out.host == "gw.local");
    CHECK(out.port == 30003);
  }
  // An error carries no broker: left alone (and no port is bound for node -1).
  proto::find_coordinator_response err;
  err.error_code = 15;
  err.node_id = -1;
  err.host = "";
  err.port = -1;
  rewrite_ok(f, err, 2, false);

  proto::find_coordinator_response b;
  b.coordinators.resize(2);
  b.coordinators[0].key = "group-a";
  b.coordinators[0].node_id = 1;
  b.coordinators[0].host = "kafka-1";
  b.coordinators[0].port = 9092;
  b.coordinators[1].key = "group-b";
  b.coordinators[1].node_id = -1;
  b.coordinators[1].error_code = 15;
  b.coordinators[1].port = -1;
  for (std::int16_t v = 4; v <= proto::find_coordinator_response::max_version; ++v) {
    auto out = rewrite_ok(f, b, v);
    CHECK(out.coordinators[0].host == "gw.local");
    CHECK(out.coordinators[0].port == 30001);
    CHECK(out.coordinators[1].port == -1);
  }
  CHECK(f.bound == std::vector<std::uint16_t>{30003, 30001});
}

// Found by tests/fuzz (response_rewrite): a FindCoordinator v4 coordinator with no error and a
// negative node id kept its upstream address, as did error entries that carried one.
TEST_CASE("entries without a broker id or with an error never pass an upstream address") {
  fixture f;
  proto::find_coordinator_response b;
  b.coordinators.resize(2);
  b.coordinators[0].key = "group-a";
  b.coordinators[0].node_id = -9;
  b.coordinators[0].host = "kafka-9.internal";
  b.coordinators[0].port = 9092;
  b.coordinators[1].key = "group-b";
  b.coordinators[1].error_code = 15;
  b.coordinators[1].node_id = 4;
  b.coordinators[1].host = "kafka-4.internal";
  b.coordinators[1].port = 9092;
  for (std::int16_t v = 4; v <= proto::find_coordinator_response::max_version; ++v) {
    auto out = rewrite_ok(f, b, v);
    for (const auto& c : out.coordinators) {
      CHECK(c.host.empty());
      CHECK(c.port == -1);
    }
  }
  proto::find_coordinator_response single;
  single.error_code = 15;
  single.node_id = 4;
  single.host = "kafka-4.internal";
  single.port = 9092;
  auto out = rewrite_ok(f, single, 3);
  CHECK(out.host.empty());
  CHECK(out.port == -1);

  proto::metadata_response m;
  m.brokers.resize(2);
  m.brokers[0].node_id = 1;
  m.brokers[0].host = "kafka-1.internal";
  m.brokers[0].port = 9092;
  m.brokers[1].node_id = -1;
  m.brokers[1].host = "kafka-x.internal";
  m.brokers[1].port = 9092;
  auto md = rewrite_ok(f, m, 12);
  CHECK(md.brokers[0].host == "gw.local");
  CHECK(md.brokers[1].host.empty());
  CHECK(md.brokers[1].port == -1);
  CHECK(f.bound == std::vector<std::uint16_t>{30001});  // nothing bound for the entries without a broker
}

TEST_CASE("DescribeCluster brokers") {
  fixture f;
  proto::describe_cluster_response d;
  d.brokers.resize(1);
  d.brokers[0].broker_id = 5;
  d.brokers[0].host = "kafka-5";
  d.brokers[0].port = 9092;
  for (std::int16_t v = 0; v <= proto::describe_cluster_response::max_version; ++v) {
    auto out = rewrite_ok(f, d, v);
    CHECK(out.brokers[0].host == "gw.local");
    CHECK(out.brokers[0].port == 30005);
  }
}

TEST_CASE("KIP-951 node endpoints in Produce v10+ and Fetch v16+; records are not copied") {
  fixture f;
  proto::produce_response p;
  p.node_endpoints.resize(1);
  p.node_endpoints[0].node_id = 2;
  p.node_endpoints[0].host = "kafka-2";
  p.node_endpoints[0].port = 9092;
  for (std::int16_t v = 10; v <= proto::produce_response::max_version; ++v) {
    auto out = rewrite_ok(f, p, v);
    CHECK(out.node_endpoints[0].host == "gw.local");
    CHECK(out.node_endpoints[0].port == 30002);
  }
  rewrite_ok(f, proto::produce_response{}, 10, false);  // nothing to rewrite: bytes pass as they came

  const std::string records(1000, 'r');
  proto::fetch_response fr;
  fr.responses.resize(1);
  fr.responses[0].topic = "t";
  fr.responses[0].partitions.resize(1);
  fr.responses[0].partitions[0].records = proto::as_bytes(records);
  fr.node_endpoints.resize(1);
  fr.node_endpoints[0].node_id = 2;
  fr.node_endpoints[0].host = "kafka-2";
  fr.node_endpoints[0].port = 9092;
  for (std::int16_t v = 16; v <= proto::fetch_response::max_version; ++v) {
    auto body = response_body(fr, v);
    proto::writer out;
    REQUIRE(f.rw.rewrite({1, v, false}, body, out) == rewrite_status::rewritten);
    // The record bytes are borrowed from the received frame, not copied.
    bool borrowed = false;
    for (auto s : out.slices())
      borrowed = borrowed || (s.data() >= body.data() && s.data() < body.data() + body.size() && s.size() == 1000);
    CHECK(borrowed);
    auto m = decode_response<proto::fetch_response>(f.keep.emplace_back(out.flatten()), v);
    CHECK(m.node_endpoints[0].port == 30002);
    CHECK(proto::as_string(*m.responses[0].partitions[0].records) == records);
  }
  fr.node_endpoints.clear();
  rewrite_ok(f, fr, 16, false);
}

TEST_CASE("ApiVersions is the intersection of the broker's and the gateway's ranges") {
  fixture f;
  proto::api_versions_response a;
  auto add = [&](std::int16_t key, std::int16_t lo, std::int16_t hi) {
    a.api_keys.push_back({});
    a.api_keys.back().api_key = key;
    a.api_keys.back().min_version = lo;
    a.api_keys.back().max_version = hi;
  };
  add(3, 0, 99);   // Metadata: capped at what the gateway decodes
  add(1, 4, 17);   // Fetch
  add(24, 0, 5);   // AddPartitionsToTxn: outside the schema, relayed opaque, kept as is
  add(55, 0, 2);   // DescribeQuorum: addresses the gateway doesn't rewrite, removed
  add(18, 0, 3);
  for (std::int16_t v = 0; v <= proto::api_versions_response::max_version; ++v) {
    auto out = rewrite_ok(f, a, v);
    REQUIRE(out.api_keys.size() == 4);
    CHECK(out.api_keys[0].api_key == 3);
    CHECK(out.api_keys[0].min_version == 0);
    CHECK(out.api_keys[0].max_version == proto::metadata_response::max_version);
    CHECK(out.api_keys[1].min_version == 4);
    CHECK(out.api_keys[2].api_key == 24);
    CHECK(out.api_keys[2].max_version == 5);
    CHECK(out.api_keys[3].api_key == 18);
    CHECK(out.error_code == 0);
  }
  // Client asked a version we don't decode: v0 answer with UNSUPPORTED_VERSION, as a broker does.
  auto body = response_body(a, 0);
  proto::writer out;
  REQUIRE(f.rw.rewrite({18, 0, true}, body, out) == rewrite_status::rewritten);
  CHECK(decode_response<proto::api_versions_response>(f.keep.emplace_back(out.flatten()), 0).error_code == 35);

  // The broker itself refusing the version: its answer (format of its choosing) passes unchanged.
  a.error_code = 35;
  auto refused = response_body(a, 0);
  proto::writer out2;
  CHECK(f.rw.rewrite({18, 3, false}, refused, out2) == rewrite_status::unchanged);
}

TEST_CASE("a malformed address-bearing response fails instead of passing through") {
  fixture f;
  proto::metadata_response m;
  m.brokers.resize(1);
  m.brokers[0].node_id = 1;
  m.brokers[0].host = "kafka-1";
  m.brokers[0].port = 9092;
  auto body = response_body(m, 1);
  for (std::size_t n = 0; n < body.size(); ++n) {
    proto::writer out;
    const auto st = f.rw.rewrite({3, 1, false}, {body.data(), n}, out);
    REQUIRE_FALSE(st);
    CHECK_FALSE(st.error().empty());
  }
  body.push_back(std::byte{0});
  proto::writer out;
  CHECK_FALSE(f.rw.rewrite({3, 1, false}, body, out));
}

TEST_CASE("Fetch v16+ node endpoints rewritten in place keep the trailer's length, for any host length") {
  fixture f;
  // Broker host lengths around every varint boundary of the padding (1..300 bytes), with and
  // without an unknown tagged field of the broker's own after the endpoints.
  for (std::int16_t v : {std::int16_t(16), std::int16_t(17)}) {
    for (std::size_t host_len = 1; host_len <= 300; ++host_len) {
      for (bool extra : {false, true}) {
        INFO("v" << v << " host length " << host_len << (extra ? " with an unknown tag" : ""));
        const std::string host(host_len, 'h');
        proto::fetch_response fr;
        fr.node_endpoints.push_back({2, host, 9092, std::nullopt, {}});
        const std::string unknown(5, 'u');
        if (extra) fr.unknown_tagged_fields.push_back({7, proto::as_bytes(unknown)});
        const auto body = response_body(fr, v);
        // The trailer: what follows the (empty) responses array.
        proto::fetch_scanner scan(v, body.size());
        proto::fetch_scanner::step s{};
        while ((s = scan.next(proto::bytes_view(body).subspan(scan.position()))).what ==
               proto::fetch_scanner::kind::structure) {
        }
        REQUIRE(s.what == proto::fetch_scanner::kind::trailer);
        const auto trailer = proto::bytes_view(body).subspan(scan.position());
        std::vector<std::byte> out;
        REQUIRE(f.rw.rewrite_fetch_trailer(v, trailer, true, out) == rewrite_status::rewritten);
        REQUIRE(out.size() == trailer.size());
        std::vector<std::byte> rebuilt(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(scan.position()));
        rebuilt.insert(rebuilt.end(), out.begin(), out.end());
        const auto m = decode_response<proto::fetch_response>(rebuilt, v);
        // "gw.local" is 8 bytes: the same length is exact; a padding field takes at least two
        // bytes (tag, length), so one byte to spare cannot be filled and the endpoints are withheld.
        const bool fits = host_len == 8 || host_len >= 10;
        if (fits) {
          REQUIRE(m.node_endpoints.size() == 1);
          CHECK(m.node_endpoints[0].host == "gw.local");
          CHECK(m.node_endpoints[0].port == 30002);
        } else {
          CHECK(m.node_endpoints.empty());  // does not fit: withheld, never the broker's
        }
        bool kept_unknown = false;
        for (const auto& t : m.unknown_tagged_fields) {
          if (t.tag == 7) kept_unknown = proto::as_string(t.data) == unknown;
          else CHECK(t.tag >= 120);
        }
        CHECK(kept_unknown == extra);
        // Not bound by the length, the rewrite is exact.
        std::vector<std::byte> exact;
        REQUIRE(f.rw.rewrite_fetch_trailer(v, trailer, false, exact) == rewrite_status::rewritten);
        rebuilt.resize(scan.position());
        rebuilt.insert(rebuilt.end(), exact.begin(), exact.end());
        const auto e = decode_response<proto::fetch_response>(rebuilt, v);
        REQUIRE(e.node_endpoints.size() == 1);
        CHECK(e.node_endpoints[0].host == "gw.local");
        CHECK(e.unknown_tagged_fields.size() == (extra ? 1u : 0u));
      }
    }
  }
}

TEST_CASE("a malformed Fetch v16 response fails instead of passing through") {
  fixture f;
  const std::string records(100, 'r');
  proto::fetch_response fr;
  fr.responses.resize(1);
  fr.responses[0].partitions.resize(1);
  fr.responses[0].partitions[0].records = proto::as_bytes(records);
  fr.node_endpoints.push_back({2, "kafka-2", 9092, std::nullopt, {}});
  auto body = response_body(fr, 16);
  for (std::size_t n = 0; n < body.size(); ++n) {
    proto::writer out;
    INFO("cut at " << n);
    const auto st = f.rw.rewrite({1, 16, false}, {body.data(), n}, out);
    REQUIRE_FALSE(st);
    CHECK_FALSE(st.error().empty());
  }
  body.push_back(std::byte{0});
  proto::writer out;
  CHECK_FALSE(f.rw.rewrite({1, 16, false}, body, out));
}

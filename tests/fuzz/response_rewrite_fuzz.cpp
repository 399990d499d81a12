// libFuzzer target: a response of any API and version, as upstream would send it, through the
// codec and the address rewriter (gateway/address_rewriter.h) with the test rewriter (brokers
// get gw.local:30000-30009). Input: API key (2 bytes), version (2 bytes), then the response
// frame without its size (response header first). Properties:
// - a response that decodes to its last byte re-encodes to bytes that decode to the same
//   message and encode again to the same bytes; encode_response/decode_response agree;
// - after rewrite(), every broker address a client sees is a gateway address or none (no
//   host): in the rewritten body when rewritten, in the bytes as received when unchanged (they
//   are forwarded), error entries included;
//   a rewritten body decodes to its last byte, with the same correlation id;
// - ApiVersions lists no API the gateway cannot relay, and no version the codec cannot decode;
// - rewrite_fetch_trailer in place (cut-through) keeps the trailer's exact length.
// Seeds: every response API x version x sample variant (tests/fuzz/seed_writer.cpp).
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "gateway/api_versions_answer.h"
#include "gateway/logging.h"
#include "message_types.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/describe_cluster.h"
#include "protocol/fetch.h"
#include "protocol/fetch_scanner.h"
#include "protocol/find_coordinator.h"
#include "protocol/frames.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/produce.h"
#include "tests/gateway/test_rewriter.h"

namespace proto = kgw::protocol;
namespace gw = kgw::gateway;
using kgw::fuzz::require;

namespace {

constexpr std::string_view gateway_host = "gw.local";

// An entry without a host names no broker (a FindCoordinator error, a node without an id).
void gateway_address(std::string_view host, std::int32_t port, const char* where) {
  if (host.empty()) return;
  require(host == gateway_host && port >= 30000 && port <= 30009, "a broker address the client sees is not the gateway's",
          std::string(where) + " " + std::string(host) + ":" + std::to_string(port));
}

// Every broker address of a decoded response a client would connect to.
void check_addresses(const proto::metadata_response& m, std::int16_t) {
  for (const auto& b : m.brokers) gateway_address(b.host, b.port, "Metadata broker");
}
void check_addresses(const proto::describe_cluster_response& m, std::int16_t) {
  for (const auto& b : m.brokers) gateway_address(b.host, b.port, "DescribeCluster broker");
}
void check_addresses(const proto::find_coordinator_response& m, std::int16_t v) {
  if (v < 4) return gateway_address(m.host, m.port, "FindCoordinator");
  for (const auto& c : m.coordinators) gateway_address(c.host, c.port, "FindCoordinator coordinator");
}
template <class M>
  requires requires(M m) { m.node_endpoints; }
void check_addresses(const M& m, std::int16_t) {
  for (const auto& e : m.node_endpoints) gateway_address(e.host, e.port, "node endpoint");
}
void check_addresses(const auto&, std::int16_t) {}

template <class M>
bool decode_whole(proto::bytes_view body, std::int16_t key, std::int16_t version, proto::response_header& h, M& m) {
  proto::reader r(body);
  h.decode(r, proto::response_header_version(key, version));
  m.decode(r, version);
  return r.ok() && r.remaining() == 0;
}

void check_api_versions(const proto::api_versions_response& m) {
  for (const auto& k : m.api_keys) {
    require(!proto::exposes_unrewritable_addresses(k.api_key), "ApiVersions offers an API with unrewritable addresses");
    require(k.api_key != proto::api::sasl_handshake && k.api_key != proto::api::sasl_authenticate,
            "ApiVersions offers SASL on a listener without SASL");
    if (const proto::api_info* a = proto::find_api(k.api_key))
      require(k.min_version >= a->min_version && k.max_version <= a->max_version && k.min_version <= k.max_version,
              "ApiVersions offers versions the codec cannot decode", a->name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Every broker the registry learns is logged: millions of lines would slow the fuzzer down.
  static const bool quiet = (kgw::log::upstream().set_level(spdlog::level::err), true);
  (void)quiet;
  if (size < 4) return 0;
  const std::int16_t key = kgw::fuzz::be16(data), version = kgw::fuzz::be16(data + 2);
  const proto::bytes_view body = kgw::fuzz::bytes_of(data + 4, size - 4);
  if (!proto::find_api(key)) return 0;

  bool decoded = false;
  kgw::fuzz::with_response(key, [&]<class M>(std::type_identity<M>) {
    proto::response_header h;
    M m;
    const bool decodes = decode_whole(body, key, version, h, m);
    decoded = decodes;
    if (decodes) {
      // Round trip through what the gateway writes for its own answers.
      const std::vector<std::byte> frame = proto::encode_response(m, version, h.correlation_id).flatten();
      M m2;
      std::int32_t corr = 0;
      require(proto::decode_response(frame, version, m2, &corr), "a frame encode_response wrote does not decode");
      require(m2 == m && corr == h.correlation_id, "response differs after a round trip");
      const std::vector<std::byte> again = proto::encode_response(m2, version, corr).flatten();
      require(again == frame, "response encoding is not stable");
    }

    kgw::gateway::testing::test_rewriter t;
    proto::writer out;
    const auto st = t.rw.rewrite({key, version, false}, body, out);
    if (!st) return;  // not forwarded
    if (*st == gw::rewrite_status::unchanged) {
      // Forwarded as received: what a client decodes of it must hold no broker address.
      if (decodes) check_addresses(m, version);
      return;
    }
    const std::vector<std::byte> rewritten = out.flatten();
    proto::response_header h2;
    M m2;
    require(decode_whole(rewritten, key, version, h2, m2) || !decodes, "a rewritten response does not decode");
    if (!decode_whole(rewritten, key, version, h2, m2)) return;
    if (decodes) require(h2.correlation_id == h.correlation_id, "the rewrite changed the correlation id");
    check_addresses(m2, version);
    if constexpr (std::is_same_v<M, proto::api_versions_response>) check_api_versions(m2);
  });

  // The relay's Fetch scanner walks every response the codec decodes; in place (cut-through),
  // a v16+ trailer rewritten keeps its length.
  if (key == proto::api::fetch && version >= 0 && version <= proto::fetch_response::max_version) {
    proto::fetch_scanner scan(version, body.size());
    for (;;) {
      const auto s = scan.next(body.subspan(scan.position()));
      if (s.what != proto::fetch_scanner::kind::trailer) {
        if (s.what == proto::fetch_scanner::kind::failed || s.what == proto::fetch_scanner::kind::need_more) {
          require(!decoded, "the Fetch scanner fails on a response the codec decodes", scan.error() ? scan.error() : "need more");
          return 0;
        }
        require(s.bytes > 0, "the Fetch scanner made no progress");
        continue;
      }
      if (version < 16) break;
      kgw::gateway::testing::test_rewriter t;
      std::vector<std::byte> out;
      const auto trailer = body.subspan(scan.position());
      const auto st = t.rw.rewrite_fetch_trailer(version, trailer, true, out);
      if (st && *st == gw::rewrite_status::rewritten)
        require(out.size() == trailer.size(), "an in-place trailer rewrite changed its length");
      break;
    }
  }
  return 0;
}

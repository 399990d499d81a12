// Golden tests: bytes written by hand from an independent reading of the Kafka protocol spec
// (field order, fixed vs compact encodings, tagged fields), decoded by the generated codec and
// re-encoded to the same bytes.
#include <catch2/catch.hpp>

#include <string>

#include "hex.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/fetch.h"
#include "protocol/find_coordinator.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"

namespace proto = kgw::protocol;
using kgw::protocol::testing::hex;
using bytes = std::vector<std::byte>;

namespace {

template <class M>
bytes encode(const M& m, std::int16_t v) {
  proto::writer w;
  m.encode(w, v);
  return w.flatten();
}

std::string_view str(proto::bytes_view b) { return proto::as_string(b); }

}  // namespace

TEST_CASE("request header v0, v1 and v2", "[protocol][golden]") {
  SECTION("v1: client id is a nullable int16-length string") {
    const bytes wire = hex("00 03 | 00 01 | 01 02 03 04 | 00 03 'cli'");
    proto::reader r(wire);
    proto::request_header h;
    h.decode(r, 1);
    REQUIRE(r.ok());
    CHECK(r.remaining() == 0);
    CHECK(h.request_api_key == 3);
    CHECK(h.request_api_version == 1);
    CHECK(h.correlation_id == 0x01020304);
    REQUIRE(h.client_id);
    CHECK(*h.client_id == "cli");
    CHECK(encode(h, 1) == wire);
  }
  SECTION("v1: null client id") {
    const bytes wire = hex("00 03 00 01 00 00 00 07 ff ff");
    proto::reader r(wire);
    proto::request_header h;
    h.decode(r, 1);
    REQUIRE(r.ok());
    CHECK_FALSE(h.client_id.has_value());
    CHECK(encode(h, 1) == wire);
  }
  SECTION("v2: client id stays non-compact, then a tagged-field section") {
    const bytes wire = hex("00 12 | 00 03 | 00 00 00 07 | 00 03 'cli' | 00");
    proto::reader r(wire);
    proto::request_header h;
    h.decode(r, 2);
    REQUIRE(r.ok());
    CHECK(r.remaining() == 0);
    CHECK(h.request_api_key == 18);
    CHECK(h.request_api_version == 3);
    CHECK(*h.client_id == "cli");
    CHECK(h.unknown_tagged_fields.empty());
    CHECK(encode(h, 2) == wire);
  }
  SECTION("v2: unknown tagged field preserved") {
    const bytes wire = hex("00 12 00 03 00 00 00 07 00 00 | 01 | 05 02 aa bb");
    proto::reader r(wire);
    proto::request_header h;
    h.decode(r, 2);
    REQUIRE(r.ok());
    CHECK(*h.client_id == "");
    REQUIRE(h.unknown_tagged_fields.size() == 1);
    CHECK(h.unknown_tagged_fields[0].tag == 5);
    CHECK(h.unknown_tagged_fields[0].data.size() == 2);
    CHECK(encode(h, 2) == wire);
  }
  SECTION("v0: no client id") {
    const bytes wire = hex("00 03 00 00 00 00 00 07");
    proto::reader r(wire);
    proto::request_header h;
    h.decode(r, 0);
    REQUIRE(r.ok());
    CHECK(r.remaining() == 0);
    CHECK(h.correlation_id == 7);
  }
  SECTION("header versions by API") {
    CHECK(proto::request_header_version(18, 2) == 1);
    CHECK(proto::request_header_version(18, 3) == 2);
    CHECK(proto::request_header_version(3, 8) == 1);
    CHECK(proto::request_header_version(3, 9) == 2);
    CHECK(proto::request_header_version(1, 12) == 2);
    CHECK(proto::request_header_version(60, 0) == 2);
    CHECK(proto::request_header_version(17, 1) == 1);  // SaslHandshake: never flexible
    CHECK(proto::request_header_version(999, 0) == -1);
    CHECK(proto::response_header_version(18, 3) == 0);  // ApiVersions quirk
    CHECK(proto::response_header_version(18, 4) == 0);
    CHECK(proto::response_header_version(3, 8) == 0);
    CHECK(proto::response_header_version(3, 9) == 1);
    CHECK(proto::response_header_version(10, 3) == 1);
    CHECK(proto::response_header_version(17, 1) == 0);
    CHECK(proto::response_header_version(999, 0) == -1);
  }
}

TEST_CASE("ApiVersions v3 response: header v0 even though flexible", "[protocol][golden]") {
  const bytes wire = hex(
      "00 00 00 07"                        // response header v0: correlation id, no tagged fields
      "| 00 00"                            // error_code
      "| 03"                               // api_keys: compact array, 2 entries
      "|   00 00  00 00  00 0b  00"        //   Produce 0-11, no tags
      "|   00 12  00 00  00 04  00"        //   ApiVersions 0-4, no tags
      "| 00 00 00 64"                      // throttle_time_ms = 100
      "| 02"                               // 2 tagged fields
      "|   00 09  02 03 'fv' 00 01 00 02 00"  // tag 0 SupportedFeatures: [{fv, 1, 2}]
      "|   01 08  00 00 00 00 00 00 00 05");  // tag 1 FinalizedFeaturesEpoch = 5
  const std::int16_t hv = proto::response_header_version(18, 3);
  REQUIRE(hv == 0);
  proto::reader r(wire);
  proto::response_header h;
  h.decode(r, hv);
  proto::api_versions_response m;
  m.decode(r, 3);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  CHECK(h.correlation_id == 7);
  CHECK(m.error_code == 0);
  REQUIRE(m.api_keys.size() == 2);
  CHECK(m.api_keys[0].api_key == 0);
  CHECK(m.api_keys[0].max_version == 11);
  CHECK(m.api_keys[1].api_key == 18);
  CHECK(m.api_keys[1].min_version == 0);
  CHECK(m.api_keys[1].max_version == 4);
  CHECK(m.throttle_time_ms == 100);
  REQUIRE(m.supported_features.size() == 1);
  CHECK(m.supported_features[0].name == "fv");
  CHECK(m.supported_features[0].min_version == 1);
  CHECK(m.supported_features[0].max_version == 2);
  CHECK(m.finalized_features_epoch == 5);
  CHECK(m.finalized_features.empty());
  CHECK(m.zk_migration_ready == false);
  CHECK(m.unknown_tagged_fields.empty());

  proto::writer w;
  h.encode(w, hv);
  m.encode(w, 3);
  CHECK(w.flatten() == wire);

  // Known tags at their defaults are omitted; unknown tags are merged back in tag order.
  proto::api_versions_response d;
  d.unknown_tagged_fields = {{200, {}}, {4, {}}};
  std::sort(d.unknown_tagged_fields.begin(), d.unknown_tagged_fields.end(),
            [](auto& a, auto& b) { return a.tag < b.tag; });
  d.zk_migration_ready = true;
  CHECK(encode(d, 3) == hex("00 00 | 01 | 00 00 00 00 | 03 | 03 01 01 | 04 00 | c8 01 00"));
}

TEST_CASE("Metadata v1 response", "[protocol][golden]") {
  const bytes wire = hex(
      "00 00 00 02"                           // brokers: 2
      "|   00 00 00 01  00 09 'localhost'  00 00 23 84  ff ff"  // node 1, rack null
      "|   00 00 00 02  00 02 'h2'  00 00 23 85  00 02 'r1'"    // node 2, rack r1
      "| 00 00 00 01"                         // controller_id (v1+)
      "| 00 00 00 01"                         // topics: 1
      "|   00 00  00 01 't'  01"              //   error_code, name, is_internal (v1+)
      "|   00 00 00 01"                       //   partitions: 1
      "|     00 00  00 00 00 00  00 00 00 01" //     error_code, partition_index, leader_id
      "|     00 00 00 01 00 00 00 01"         //     replica_nodes [1]
      "|     00 00 00 02 00 00 00 01 00 00 00 02");  //     isr_nodes [1, 2]
  proto::reader r(wire);
  proto::metadata_response m;
  m.decode(r, 1);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  REQUIRE(m.brokers.size() == 2);
  CHECK(m.brokers[0].node_id == 1);
  CHECK(m.brokers[0].host == "localhost");
  CHECK(m.brokers[0].port == 9092);
  CHECK_FALSE(m.brokers[0].rack.has_value());
  CHECK(m.brokers[1].host == "h2");
  CHECK(m.brokers[1].rack == std::optional<std::string_view>("r1"));
  CHECK(m.controller_id == 1);
  CHECK_FALSE(m.cluster_id.has_value());  // v2+: absent, default null
  REQUIRE(m.topics.size() == 1);
  CHECK(m.topics[0].name == std::optional<std::string_view>("t"));
  CHECK(m.topics[0].is_internal);
  REQUIRE(m.topics[0].partitions.size() == 1);
  CHECK(m.topics[0].partitions[0].leader_id == 1);
  CHECK(m.topics[0].partitions[0].leader_epoch == -1);  // v7+: default
  CHECK(m.topics[0].partitions[0].isr_nodes == std::vector<std::int32_t>{1, 2});
  CHECK(encode(m, 1) == wire);

  // Fields of later versions are skipped when encoding v1.
  proto::metadata_response later = m;
  later.cluster_id = "cluster";
  later.throttle_time_ms = 5;
  later.topics[0].partitions[0].offline_replicas = {3};
  CHECK(encode(later, 1) == wire);

  // The gateway's edit: rewrite a broker address and re-encode.
  m.brokers[0].host = "gw";
  m.brokers[0].port = 19093;
  const bytes edited = encode(m, 1);
  CHECK(edited.size() == wire.size() - 7);
  proto::reader er(edited);
  proto::metadata_response e;
  e.decode(er, 1);
  REQUIRE(er.ok());
  CHECK(e.brokers[0].host == "gw");
  CHECK(e.brokers[0].port == 19093);
}

TEST_CASE("FindCoordinator v4 response (batched coordinators)", "[protocol][golden]") {
  const bytes wire = hex(
      "00 00 00 2a 00"                  // response header v1: correlation id 42, no tags
      "| 00 00 00 00"                   // throttle_time_ms
      "| 03"                            // coordinators: 2
      "|   04 'grp'  00 00 00 02  09 'broker-2'  00 00 23 84  00 00  00  00"
      "|   03 'g2'  ff ff ff ff  01  ff ff ff ff  00 0f  09 'no coord'  00"
      "| 00");                          // no tagged fields
  REQUIRE(proto::response_header_version(10, 4) == 1);
  proto::reader r(wire);
  proto::response_header h;
  h.decode(r, 1);
  proto::find_coordinator_response m;
  m.decode(r, 4);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  CHECK(h.correlation_id == 42);
  REQUIRE(m.coordinators.size() == 2);
  const proto::find_coordinator_response::coordinator& c = m.coordinators[0];
  CHECK(c.key == "grp");
  CHECK(c.node_id == 2);
  CHECK(c.host == "broker-2");
  CHECK(c.port == 9092);
  CHECK(c.error_code == 0);
  CHECK_FALSE(c.error_message.has_value());
  CHECK(m.coordinators[1].node_id == -1);
  CHECK(m.coordinators[1].host == "");
  CHECK(m.coordinators[1].error_code == 15);
  CHECK(m.coordinators[1].error_message == std::optional<std::string_view>("no coord"));
  proto::writer w;
  h.encode(w, 1);
  m.encode(w, 4);
  CHECK(w.flatten() == wire);
}

TEST_CASE("FindCoordinator v0-v3 response (single coordinator)", "[protocol][golden]") {
  // v1: throttle, error_code, error_message (nullable), node_id, host, port; not flexible.
  const bytes wire = hex("00 00 00 00 | 00 00 | ff ff | 00 00 00 03 | 00 01 'h' | 00 00 23 84");
  proto::reader r(wire);
  proto::find_coordinator_response m;
  m.decode(r, 1);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  CHECK(m.node_id == 3);
  CHECK(m.host == "h");
  CHECK_FALSE(m.error_message.has_value());
  CHECK(encode(m, 1) == wire);
}

TEST_CASE("Fetch v16 response with the NodeEndpoints tagged field", "[protocol][golden]") {
  const bytes wire = hex(
      "00 00 00 09 00"                            // response header v1
      "| 00 00 00 00  00 00  00 00 00 00"         // throttle_time_ms, error_code, session_id
      "| 02"                                      // responses: 1
      "|   00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"  // topic_id (v13+)
      "|   02"                                    //   partitions: 1
      "|     00 00 00 00  00 00"                  //     partition_index, error_code
      "|     00 00 00 00 00 00 00 0a"             //     high_watermark 10
      "|     00 00 00 00 00 00 00 0a"             //     last_stable_offset 10
      "|     00 00 00 00 00 00 00 00"             //     log_start_offset 0
      "|     00"                                  //     aborted_transactions: null
      "|     ff ff ff ff"                         //     preferred_read_replica -1
      "|     04 'abc'"                            //     records (3 bytes, opaque here)
      "|     01  01 09  00 00 00 01 00 00 00 05 00"  //     tag 1 CurrentLeader {1, 5}
      "|   00"                                    //   topic: no tags
      "| 01  00 15"                               // tag 0 NodeEndpoints, 21 bytes:
      "|   02  00 00 00 01  0a 'localhost'  00 00 23 84  00  00");  // [{1, localhost, 9092, null}]
  REQUIRE(proto::response_header_version(1, 16) == 1);
  proto::reader r(wire);
  proto::response_header h;
  h.decode(r, 1);
  proto::fetch_response m;
  m.decode(r, 16);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  REQUIRE(m.responses.size() == 1);
  CHECK(m.responses[0].topic_id[15] == std::byte{0x0f});
  REQUIRE(m.responses[0].partitions.size() == 1);
  const auto& p = m.responses[0].partitions[0];
  CHECK(p.high_watermark == 10);
  CHECK_FALSE(p.aborted_transactions.has_value());
  REQUIRE(p.records.has_value());
  CHECK(str(*p.records) == "abc");
  CHECK(p.current_leader.leader_id == 1);
  CHECK(p.current_leader.leader_epoch == 5);
  CHECK(p.diverging_epoch == proto::fetch_response::epoch_end_offset{});
  REQUIRE(m.node_endpoints.size() == 1);
  const proto::fetch_response::node_endpoint& ne = m.node_endpoints[0];
  CHECK(ne.node_id == 1);
  CHECK(ne.host == "localhost");
  CHECK(ne.port == 9092);
  CHECK_FALSE(ne.rack.has_value());

  proto::writer w;
  h.encode(w, 1);
  m.encode(w, 16);
  CHECK(w.flatten() == wire);

  // Rewrite the endpoint: the tagged field's size prefix is recomputed.
  m.node_endpoints[0].host = "gw";
  m.node_endpoints[0].port = 19093;
  const bytes edited = encode(m, 16);
  proto::reader er(edited);
  proto::fetch_response e;
  e.decode(er, 16);
  REQUIRE(er.ok());
  CHECK(er.remaining() == 0);
  CHECK(e.node_endpoints[0].host == "gw");
  CHECK(e.node_endpoints[0].port == 19093);
  CHECK(str(*e.responses[0].partitions[0].records) == "abc");

  // v15 has no NodeEndpoints: not written, and a tag 0 there would be unknown.
  proto::fetch_response v15 = m;
  const bytes at15 = encode(v15, 15);
  proto::reader r15(at15);
  proto::fetch_response d15;
  d15.decode(r15, 15);
  REQUIRE(r15.ok());
  CHECK(d15.node_endpoints.empty());
}

TEST_CASE("records are borrowed, not copied", "[protocol][golden]") {
  std::vector<std::byte> records(1000, std::byte{0x42});
  proto::fetch_response m;
  auto& t = m.responses.emplace_back();
  auto& p = t.partitions.emplace_back();
  p.records = proto::bytes_view(records);
  proto::writer w;
  m.encode(w, 16);
  REQUIRE(w.has_borrowed());
  bool found = false;
  for (auto s : w.slices()) found |= s.data() == records.data() && s.size() == records.size();
  CHECK(found);
}

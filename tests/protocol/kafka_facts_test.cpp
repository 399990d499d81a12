// The Kafka facts generated from protocol/schema/kafka.kgs beside the codec: API names, keys and
// flags, error codes with names and retriability, and the response framing helper.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/errors.h"
#include "protocol/frames.h"
#include "protocol/headers.h"

namespace proto = kgw::protocol;

TEST_CASE("facts: every API key Kafka defines up to 87 has one name, and names map back", "[protocol][facts]") {
  std::set<std::string> names;
  for (std::int16_t key = 0; key <= 87; ++key) {
    const char* name = proto::api_name(key);
    INFO("key " << key);
    REQUIRE(name != nullptr);
    CHECK(names.insert(name).second);
    CHECK(proto::api_key_of(name) == key);
  }
  CHECK(proto::api_name(-1) == nullptr);
  CHECK(proto::api_key_of("NoSuchApi") == -1);
  CHECK(std::string(proto::api_name(proto::api::describe_acls)) == "DescribeAcls");
  CHECK(proto::api::consumer_group_heartbeat == 68);
}

TEST_CASE("facts: decodable APIs are exactly the codec's table", "[protocol][facts]") {
  for (const auto& a : proto::api_names) {
    INFO(a.name);
    CHECK(a.decodable == (proto::find_api(a.key) != nullptr));
    if (a.decodable) CHECK(std::string(proto::find_api(a.key)->name) == a.name);
    // What the codec decodes it rewrites: only undecodable APIs can expose addresses it cannot.
    if (a.decodable) CHECK_FALSE(a.unrewritable_addresses);
  }
}

TEST_CASE("facts: which responses carry broker addresses, per version", "[protocol][facts]") {
  using namespace proto::api;
  CHECK(proto::carries_addresses(metadata, 0));
  CHECK(proto::carries_addresses(find_coordinator, 4));
  CHECK(proto::carries_addresses(describe_cluster, 1));
  CHECK_FALSE(proto::carries_addresses(produce, 9));
  CHECK(proto::carries_addresses(produce, 10));  // KIP-951 node endpoints
  CHECK_FALSE(proto::carries_addresses(fetch, 15));
  CHECK(proto::carries_addresses(fetch, 16));
  CHECK_FALSE(proto::carries_addresses(list_offsets, 10));
  CHECK_FALSE(proto::carries_addresses(describe_quorum, 1));  // not decodable: refused instead
  for (auto k : {vote, begin_quorum_epoch, end_quorum_epoch, describe_quorum, fetch_snapshot, share_fetch,
                 share_acknowledge, add_raft_voter, update_raft_voter})
    CHECK(proto::exposes_unrewritable_addresses(k));
  CHECK_FALSE(proto::exposes_unrewritable_addresses(describe_acls));
  CHECK_FALSE(proto::exposes_unrewritable_addresses(metadata));
  CHECK(proto::find_api(sasl_authenticate)->sensitive);
  CHECK(proto::find_api(sasl_handshake)->sensitive);
  CHECK_FALSE(proto::find_api(fetch)->sensitive);
}

TEST_CASE("facts: error codes -1..129 are all named, once, with Kafka's retriability", "[protocol][facts]") {
  std::set<std::string> names;
  for (int code = -1; code <= 129; ++code) {
    INFO("code " << code);
    const auto* e = proto::find_error(static_cast<std::int16_t>(code));
    REQUIRE(e != nullptr);
    CHECK(names.insert(e->name).second);
  }
  CHECK(proto::kafka_error::topic_authorization_failed == 29);
  CHECK(std::string(proto::error_name(proto::kafka_error::unknown_topic_id)) == "UNKNOWN_TOPIC_ID");
  CHECK(proto::error_retriable(proto::kafka_error::not_leader_or_follower));
  CHECK(proto::error_retriable(proto::kafka_error::unknown_topic_or_partition));
  CHECK_FALSE(proto::error_retriable(proto::kafka_error::topic_authorization_failed));
  CHECK_FALSE(proto::error_retriable(proto::kafka_error::invalid_record));
  CHECK(proto::error_message(proto::kafka_error::none) == nullptr);
  CHECK(std::string(proto::error_message(proto::kafka_error::group_authorization_failed)) ==
        "Group authorization failed.");
  CHECK(proto::error_name(-2) == nullptr);
  CHECK_FALSE(proto::error_retriable(-2));
}

TEST_CASE("facts: encode_response frames a response with its header version", "[protocol][facts]") {
  proto::api_versions_response r;
  r.error_code = proto::kafka_error::unsupported_version;
  for (std::int16_t v : {std::int16_t(0), std::int16_t(3)}) {
    const auto bytes = proto::encode_response(r, v, 77).flatten();
    proto::reader rd{proto::bytes_view(bytes)};
    CHECK(rd.i32() == static_cast<std::int32_t>(bytes.size() - 4));
    proto::response_header h;
    h.decode(rd, proto::response_header_version(proto::api::api_versions, v));
    CHECK(h.correlation_id == 77);
    proto::api_versions_response back;
    back.decode(rd, v);
    REQUIRE(rd.ok());
    CHECK(rd.remaining() == 0);
    CHECK(back.error_code == proto::kafka_error::unsupported_version);
  }
}

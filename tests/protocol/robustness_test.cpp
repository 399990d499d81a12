// Hostile and odd input: lying lengths and counts, malformed tagged fields, nulls where not
// allowed; plus the api_keys table.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <tuple>

#include "hex.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/fetch.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/samples.h"

namespace proto = kgw::protocol;
using kgw::protocol::testing::hex;
using bytes = std::vector<std::byte>;

namespace {

template <class M>
proto::decode_error decode_fails(const bytes& wire, std::int16_t v) {
  proto::reader r(wire);
  M m;
  m.decode(r, v);
  INFO("decoded " << r.position() << " of " << wire.size() << " bytes");
  CHECK_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("lying lengths fail cleanly without big allocations", "[protocol][robustness]") {
  SECTION("array count far beyond the frame") {
    auto e = decode_fails<proto::metadata_response>(hex("7f ff ff ff 00 00 00 01"), 1);
    CHECK(std::string(e.what) == "array length exceeds frame");
  }
  SECTION("compact array count far beyond the frame") {
    auto e = decode_fails<proto::metadata_response>(hex("00 00 00 00 | ff ff ff ff 0f | 00"), 9);
    CHECK(std::string(e.what) == "array length exceeds frame");
  }
  SECTION("array count within the frame but elements missing") {
    bytes wire = hex("00 00 00 00 | 00 00 00 00 | 00 00 00 00 00 00 00 00 | 00 00 00 01");
    // Metadata v0 response: brokers [], topics count 8 with too few bytes for 8 topics.
    wire = hex("00 00 00 00 | 00 00 00 08 | 00 00 00 01 't' 00 00 00 00");
    decode_fails<proto::metadata_response>(wire, 0);
  }
  SECTION("negative array count") {
    auto e = decode_fails<proto::metadata_response>(hex("ff ff ff fe"), 0);
    CHECK(std::string(e.what) == "negative array length");
  }
  SECTION("string length beyond the frame") {
    decode_fails<proto::metadata_response>(hex("00 00 00 01 | 00 00 00 01 | 7f ff 'abc'"), 0);
  }
  SECTION("compact string length beyond the frame") {
    // FindCoordinator-like: Metadata v9 response, broker host with a 4 GiB length.
    decode_fails<proto::metadata_response>(hex("00 00 00 00 | 02 | 00 00 00 01 | ff ff ff ff 0f 'ab'"), 9);
  }
  SECTION("negative string length") {
    auto e = decode_fails<proto::metadata_response>(hex("00 00 00 01 | 00 00 00 01 | ff fe"), 0);
    CHECK(std::string(e.what) == "negative string length");
  }
  SECTION("varint longer than 5 bytes / 10 bytes") {
    decode_fails<proto::metadata_response>(hex("00 00 00 00 | ff ff ff ff ff ff ff ff ff ff 01"), 9);
  }
  SECTION("tagged field count far beyond the frame") {
    decode_fails<proto::request_header>(hex("00 12 00 03 00 00 00 07 00 00 | ff ff ff ff 0f | 01 00"), 2);
  }
  SECTION("tagged field size beyond the frame") {
    decode_fails<proto::request_header>(hex("00 12 00 03 00 00 00 07 00 00 | 01 | 05 7f aa"), 2);
  }
  SECTION("known tagged field longer than its value") {
    // Fetch v16 response, NodeEndpoints (tag 0) whose size says one byte more than the array.
    auto e = decode_fails<proto::fetch_response>(
        hex("00 00 00 00 00 00 00 00 00 00 | 01 | 01 | 00 03 | 01 00 ee"), 16);
    CHECK(std::string(e.what) == "tagged field longer than its value");
  }
  SECTION("known tagged field shorter than its value") {
    decode_fails<proto::fetch_response>(hex("00 00 00 00 00 00 00 00 00 00 | 01 | 01 | 00 01 | 02"), 16);
  }
}

TEST_CASE("nulls only where the version allows them", "[protocol][robustness]") {
  // Metadata request topics: nullable from v1, not in v0.
  decode_fails<proto::metadata_request>(hex("ff ff ff ff"), 0);
  {
    const bytes wire = hex("ff ff ff ff");
    proto::reader r(wire);
    proto::metadata_request m;
    m.decode(r, 1);
    REQUIRE(r.ok());
    CHECK_FALSE(m.topics.has_value());
  }
  // A null given for a non-nullable version is encoded as empty (v0: empty = all topics).
  proto::metadata_request all;
  all.topics.reset();
  proto::writer w;
  all.encode(w, 0);
  CHECK(w.flatten() == hex("00 00 00 00"));
  // Non-nullable string (broker host) null.
  decode_fails<proto::metadata_response>(hex("00 00 00 01 | 00 00 00 01 | ff ff"), 0);
}

TEST_CASE("decode resets the message first", "[protocol][robustness]") {
  proto::metadata_response m;
  m.cluster_id = "stale";
  m.brokers.resize(3);
  const bytes wire = hex("00 00 00 00 | 00 00 00 00");
  proto::reader r(wire);
  m.decode(r, 0);
  REQUIRE(r.ok());
  CHECK(m == proto::metadata_response{});
}

TEST_CASE("api_keys table", "[protocol][api_keys]") {
  const auto apis = proto::all_apis();
  CHECK(apis.size() == 36);
  std::set<std::int16_t> keys;
  std::int16_t prev = -1;
  for (const auto& a : apis) {
    CHECK(a.key > prev);
    prev = a.key;
    keys.insert(a.key);
    CHECK(proto::find_api(a.key) == &a);
    CHECK(a.min_version <= a.max_version);
  }
  CHECK(keys == std::set<std::int16_t>{0,  1,  2,  3,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                       22, 23, 24, 25, 26, 28, 32, 33, 36, 37, 42, 44, 47, 60, 61, 65, 66, 68});
  CHECK(proto::find_api(999) == nullptr);
  CHECK(proto::find_api(-1) == nullptr);
  CHECK(std::string(proto::find_api(3)->name) == "Metadata");
  CHECK(proto::find_api(3)->max_version == 12);
  CHECK(proto::find_api(3)->first_flexible == 9);
  CHECK(proto::find_api(17)->first_flexible == proto::never_flexible);
  static_assert(proto::api_table[proto::api_index(18)].first_flexible == 3);
  static_assert(proto::response_header_version(18, 3) == 0);
}

TEST_CASE("message constants agree with api_keys", "[protocol][api_keys]") {
  std::apply(
      [](auto... m) {
        auto check = [](auto msg) {
          using M = decltype(msg);
          if constexpr (requires { M::api_key; }) {
            const proto::api_info* a = proto::find_api(M::api_key);
            REQUIRE(a != nullptr);
            CHECK(a->min_version == M::min_version);
            CHECK(a->max_version == M::max_version);
            CHECK(a->first_flexible == M::first_flexible);
          }
        };
        (check(m), ...);
      },
      kgw::protocol::testing::all_messages{});
}

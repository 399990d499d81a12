// throttle_field: the offset it finds holds the encoded throttle_time_ms, for every response of
// every API and version that has one (Produce and Fetch built with record errors, error messages
// and tagged fields where versions allow; every other decoded API from its generated sample;
// APIs the codec does not decode from synthetic frames), and raising it leaves the rest intact.
#include <catch2/catch.hpp>

#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "protocol/produce.h"
#include "protocol/samples.h"
#include "protocol/testing/sample_values.h"
#include "protocol/throttle_field.h"

namespace p = kgw::protocol;

namespace {
std::int32_t be32(const std::vector<std::byte>& b, std::size_t at) {
  return static_cast<std::int32_t>((static_cast<std::uint32_t>(b[at]) << 24) | (static_cast<std::uint32_t>(b[at + 1]) << 16) |
                                   (static_cast<std::uint32_t>(b[at + 2]) << 8) | static_cast<std::uint32_t>(b[at + 3]));
}
}  // namespace

TEST_CASE("throttle field: Produce, every version with a throttle") {
  for (std::int16_t v = 1; v <= p::produce_response::max_version; ++v) {
    INFO("Produce v" << v);
    p::produce_response r;
    r.throttle_time_ms = 1234;
    for (const char* name : {"alpha", "beta"}) {
      auto& t = r.responses.emplace_back();
      t.name = name;
      for (int i = 0; i < 3; ++i) {
        auto& part = t.partition_responses.emplace_back();
        part.index = i;
        part.base_offset = 100 + i;
        if (v >= 8) {
          part.record_errors.push_back({1, std::string_view("bad record"), {}});
          part.error_message = "some partitions failed";
        }
        if (v >= 10 && i == 1) part.current_leader = {7, 3, {}};  // a tagged field
      }
    }
    if (v >= 10) r.node_endpoints.push_back({7, "broker-7", 9092, std::nullopt, {}});
    auto frame = p::encode_response(r, v, 42).flatten();
    const auto at = p::throttle_offset(p::api::produce, v, frame);
    REQUIRE(at);
    CHECK(be32(frame, *at) == 1234);
    auto before = frame;
    CHECK(p::raise_throttle(frame, *at, 500) == 1234);  // lower: unchanged
    CHECK(frame == before);
    CHECK(p::raise_throttle(frame, *at, 5000) == 5000);
    p::produce_response back;
    REQUIRE(p::decode_response(frame, v, back));
    CHECK(back.throttle_time_ms == 5000);
    back.throttle_time_ms = r.throttle_time_ms;
    CHECK(back == r);
    // A partial frame (cut short) has no answer rather than a wrong one.
    CHECK_FALSE(p::throttle_offset(p::api::produce, v, p::bytes_view(frame).subspan(0, frame.size() - 1)));
  }
  p::produce_response r0;
  CHECK_FALSE(p::throttle_offset(p::api::produce, 0, p::encode_response(r0, 0, 1).flatten()));
}

TEST_CASE("throttle field: Fetch, found from the response's first bytes") {
  for (std::int16_t v = 1; v <= p::fetch_response::max_version; ++v) {
    INFO("Fetch v" << v);
    p::fetch_response r;
    r.throttle_time_ms = 77;
    auto frame = p::encode_response(r, v, 9).flatten();
    const auto at = p::throttle_offset(p::api::fetch, v, p::bytes_view(frame).subspan(0, std::min<std::size_t>(frame.size(), 16)));
    REQUIRE(at);
    CHECK(be32(frame, *at) == 77);
    p::raise_throttle(frame, *at, 3000);
    p::fetch_response back;
    REQUIRE(p::decode_response(frame, v, back));
    CHECK(back.throttle_time_ms == 3000);
    CHECK_FALSE(p::throttle_offset(p::api::fetch, v, p::bytes_view(frame).subspan(0, 9)));
  }
}

TEMPLATE_LIST_TEST_CASE("throttle field: every decoded response, every version", "[protocol]",
                        kgw::protocol::testing::all_messages) {
  using M = TestType;
  if constexpr (requires(M m) { m.throttle_time_ms; }) {
    for (std::int16_t v = M::min_version; v <= M::max_version; ++v) {
      for (int variant = 0; variant < p::testing::sample_variants; ++variant) {
        M m;
        p::testing::fill_sample(m, v, variant);
        INFO(p::testing::message_name(m) << " v" << v << " variant " << variant);
        if constexpr (M::api_key == p::api::api_versions) m.error_code = 0;  // an error answer has none
        m.throttle_time_ms = 4321;
        auto frame = p::encode_response(m, v, 5).flatten();
        const auto at = p::throttle_offset(M::api_key, v, frame);
        // Versions without the field encode none: the offset must say so, not point elsewhere.
        const bool has = p::throttle_place_of(M::api_key, v).present;
        M without;
        p::testing::fill_sample(without, v, variant);
        without.throttle_time_ms = 0;
        if constexpr (M::api_key == p::api::api_versions) without.error_code = 0;
        CHECK(has == (p::encode_response(without, v, 5).flatten() != frame));
        if (!has) {
          CHECK_FALSE(at);
          continue;
        }
        REQUIRE(at);
        CHECK(be32(frame, *at) == 4321);
        CHECK(p::raise_throttle(frame, *at, 9000) == 9000);
        M back;
        REQUIRE(p::decode_response(frame, v, back));
        CHECK(back.throttle_time_ms == 9000);
        back.throttle_time_ms = m.throttle_time_ms;
        CHECK(back == m);
      }
    }
  }
}

TEST_CASE("throttle field: ApiVersions with an error is in v0's format, without one") {
  p::api_versions_response r;
  r.error_code = 35;  // UNSUPPORTED_VERSION
  r.throttle_time_ms = 10;
  CHECK_FALSE(p::throttle_offset(p::api::api_versions, 3, p::encode_response(r, 3, 1).flatten()));
}

TEST_CASE("throttle field: APIs the codec does not decode, from the response's first bytes") {
  auto frame_of = [](bool tags) {
    std::vector<std::byte> f{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},  // size
                             std::byte{0}, std::byte{0}, std::byte{0}, std::byte{7}};  // correlation id
    if (tags) f.insert(f.end(), {std::byte{1}, std::byte{3}, std::byte{1}, std::byte{0xaa}});  // one tagged field
    f.insert(f.end(), {std::byte{0}, std::byte{0}, std::byte{0x01}, std::byte{0x02}});  // throttle_time_ms 258
    f.insert(f.end(), 6, std::byte{0x11});
    const auto n = static_cast<std::uint32_t>(f.size() - 4);
    for (int i = 0; i < 4; ++i) f[static_cast<std::size_t>(i)] = static_cast<std::byte>(n >> (24 - 8 * i));
    return f;
  };
  // DescribeAcls: flexible from v2; DescribeTopicPartitions: flexible from v0.
  for (auto [key, v, tags] : {std::tuple{p::api::describe_acls, 1, false}, std::tuple{p::api::describe_acls, 2, true},
                              std::tuple{p::api::describe_topic_partitions, 0, true}}) {
    INFO(p::api_name(key) << " v" << v);
    auto f = frame_of(tags);
    const auto at = p::throttle_offset(key, static_cast<std::int16_t>(v), f);
    REQUIRE(at);
    CHECK(be32(f, *at) == 258);
  }
  // No throttle_time_ms first (delegation tokens) or none at all (SaslAuthenticate): no offset.
  CHECK_FALSE(p::throttle_offset(p::api::create_delegation_token, 2, frame_of(true)));
  CHECK_FALSE(p::throttle_offset(p::api::sasl_authenticate, 2, frame_of(true)));
}

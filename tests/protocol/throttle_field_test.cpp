// throttle_field: the offset it finds holds the encoded throttle_time_ms, for every Produce and
// Fetch version that has one (responses built with the codec, with record errors, error
// messages and tagged fields where versions allow), and raising it leaves the rest intact.
#include <catch2/catch.hpp>

#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "protocol/produce.h"
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
    p::reader rd(p::bytes_view(frame).subspan(4));
    p::response_header h;
    h.decode(rd, p::response_header_version(p::api::produce, v));
    p::produce_response back;
    back.decode(rd, v);
    REQUIRE(rd.ok());
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
    p::reader rd(p::bytes_view(frame).subspan(4));
    p::response_header h;
    h.decode(rd, p::response_header_version(p::api::fetch, v));
    p::fetch_response back;
    back.decode(rd, v);
    REQUIRE(rd.ok());
    CHECK(back.throttle_time_ms == 3000);
    CHECK_FALSE(p::throttle_offset(p::api::fetch, v, p::bytes_view(frame).subspan(0, 9)));
  }
  CHECK_FALSE(p::throttle_offset(p::api::metadata, 5, std::vector<std::byte>(32)));
}

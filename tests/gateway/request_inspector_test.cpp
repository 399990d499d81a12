#include <catch2/catch.hpp>

#include "gateway/request_inspector.h"
#include "protocol/api_versions.h"
#include "protocol/headers.h"
#include "protocol/produce.h"
#include "protocol/frames.h"

namespace proto = kgw::protocol;
using kgw::gateway::inspect_request;
using kgw::gateway::request_info;

namespace {
template <class M>
std::vector<std::byte> request_body(const M& m, std::int16_t version, std::int32_t corr) {
  return proto::encode_request(m, version, corr, "test-client", /*with_size=*/false).flatten();
}
}  // namespace

TEST_CASE("Produce acks=0 expects no response, in classic and flexible versions") {
  for (std::int16_t v : {3, 7, 9, 11}) {
    proto::produce_request p;
    p.transactional_id = std::nullopt;
    p.acks = 0;
    p.timeout_ms = 1000;
    auto body = request_body(p, v, 42);
    auto info = inspect_request(body);
    INFO("v" << v);
    CHECK(info.what == request_info::action::forward);
    CHECK(info.correlation_id == 42);
    CHECK_FALSE(info.expects_response);
    p.acks = -1;
    p.transactional_id = std::string_view("txn-1");
    CHECK(inspect_request(request_body(p, v, 43)).expects_response);
  }
}

TEST_CASE("truncated or impossible requests are refused, never read past the end") {
  proto::produce_request p;
  p.acks = 1;
  auto body = request_body(p, 9, 7);
  for (std::size_t n = 0; n < 8; ++n) CHECK(inspect_request({body.data(), n}).what == request_info::action::refuse);
  // Header complete (8 fixed bytes + client id + tags) but the Produce body cut before acks.
  const std::size_t header_size = 8 + 2 + std::string_view("test-client").size() + 1;
  for (std::size_t n = 8; n < header_size + 3; ++n)
    CHECK(inspect_request({body.data(), n}).what == request_info::action::refuse);
  CHECK(inspect_request({body.data(), header_size + 3}).what == request_info::action::forward);
}

TEST_CASE("APIs outside the schema relay opaque; address-bearing unknown APIs are refused") {
  std::vector<std::byte> b(12, std::byte{0});
  b[1] = std::byte{24};  // AddPartitionsToTxn v0
  b[7] = std::byte{5};
  auto info = inspect_request(b);
  CHECK(info.what == request_info::action::forward);
  CHECK(info.api_key == 24);
  CHECK(info.correlation_id == 5);
  CHECK(info.expects_response);
  b[1] = std::byte{55};  // DescribeQuorum: returns controller addresses
  CHECK(inspect_request(b).what == request_info::action::refuse);
}

TEST_CASE("ApiVersions newer than the gateway is forwarded as v0 and flagged") {
  proto::writer w;
  proto::request_header h;
  h.request_api_key = 18;
  h.request_api_version = 99;
  h.correlation_id = 9;
  h.client_id = std::string_view("future-client");
  h.encode(w, 2);
  w.uvarint(0);  // whatever a future body holds
  auto info = inspect_request(w.flatten());
  REQUIRE(info.what == request_info::action::replace);
  CHECK(info.unsupported_api_versions);
  CHECK(info.upstream_version == 0);
  proto::reader r(info.replacement);
  proto::request_header back;
  back.decode(r, 1);
  REQUIRE(r.ok());
  CHECK(back.request_api_key == 18);
  CHECK(back.request_api_version == 0);
  CHECK(back.correlation_id == 9);
  CHECK(back.client_id == std::optional<std::string_view>("future-client"));
  CHECK(r.remaining() == 0);
}

TEST_CASE("Metadata at a version the gateway cannot decode is refused (it may carry addresses)") {
  std::vector<std::byte> b(12, std::byte{0});
  b[1] = std::byte{3};
  b[3] = std::byte{100};
  CHECK(inspect_request(b).what == request_info::action::refuse);
}

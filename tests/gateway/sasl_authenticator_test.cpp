// The gateway's side of the SASL exchange, frame by frame, for every mechanism and both flows
// (SaslAuthenticate and the legacy raw tokens), with the error codes clients rely on.
#include <catch2/catch.hpp>

#include <chrono>

#include "gateway/api_versions_answer.h"
#include "gateway/frame_buffer.h"
#include "gateway/identity_store.h"
#include "gateway/sasl_authenticator.h"
#include "gateway/security/jwt.h"
#include "gateway/security/plain.h"
#include "gateway/security/scram.h"
#include "protocol/api_versions.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/frames.h"
#include "protocol/sasl_authenticate.h"
#include "protocol/sasl_handshake.h"
#include "tests/support/jwt_test_signer.h"
#include "tests/support/sasl_principals.h"

namespace proto = kgw::protocol;
namespace sec = kgw::security;
using kgw::gateway::sasl_authenticator;
using next = sasl_authenticator::next;

namespace {

using fixture = kgw::testing::sasl_principals;

template <class M>
std::vector<std::byte> request(const M& msg, std::int16_t version, std::int32_t corr) {
  return proto::encode_request(msg, version, corr, "test-client", false).flatten();
}

std::vector<std::byte> handshake(std::string mechanism, std::int16_t version, std::int32_t corr = 1) {
  proto::sasl_handshake_request r;
  r.mechanism = mechanism;
  return request(r, version, corr);
}

std::vector<std::byte> authenticate(std::string_view token, std::int16_t version, std::int32_t corr = 2) {
  proto::sasl_authenticate_request r;
  r.auth_bytes = proto::bytes_view(reinterpret_cast<const std::byte*>(token.data()), token.size());
  return request(r, version, corr);
}

// Decodes a response frame (size prefix included) of message type M.
template <class M>
M response(const std::vector<std::byte>& frame, std::int16_t version, std::int32_t expect_corr) {
  REQUIRE(frame.size() >= 8);
  proto::reader r(proto::bytes_view(frame).subspan(4));
  proto::response_header h;
  h.decode(r, proto::response_header_version(M::api_key, version));
  M m;
  m.decode(r, version);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  CHECK(h.correlation_id == expect_corr);
  CHECK(static_cast<std::size_t>(kgw::gateway::read_be32(frame.data())) == frame.size() - 4);
  return m;
}

std::string text(proto::bytes_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

std::string raw_token(const std::vector<std::byte>& frame) {
  REQUIRE(frame.size() >= 4);
  return text(proto::bytes_view(frame).subspan(4));
}

std::vector<std::byte> raw(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), reinterpret_cast<const std::byte*>(s.data()) + s.size()};
}

}  // namespace

TEST_CASE("sasl: ApiVersions is answered before the handshake, any other request closes") {
  fixture f;
  sasl_authenticator a(f.ctx);
  auto r = a.on_frame(request(proto::api_versions_request{}, 3, 7));
  CHECK(r.what == next::api_versions);
  CHECK(r.correlation_id == 7);
  CHECK(r.api_version == 3);

  proto::metadata_request md;
  auto m = a.on_frame(request(md, 1, 8));
  CHECK(m.what == next::close);
  CHECK(m.failure == "Metadata v1 before authentication completed");

  sasl_authenticator b(f.ctx);
  auto s = b.on_frame(authenticate("x", 1));
  CHECK(s.what == next::close);
  CHECK(s.failure.find("SaslAuthenticate") != std::string::npos);

  sasl_authenticator c(f.ctx);
  auto garbage = c.on_frame(raw("\x01"));
  CHECK(garbage.what == next::close);
}

TEST_CASE("sasl: an unsupported mechanism gets UNSUPPORTED_SASL_MECHANISM with the enabled list") {
  fixture f;
  for (std::int16_t v : {0, 1}) {
    sasl_authenticator a(f.ctx);
    auto r = a.on_frame(handshake("GSSAPI", v, 11));
    CHECK(r.what == next::reply_and_close);
    auto resp = response<proto::sasl_handshake_response>(r.frame, v, 11);
    CHECK(resp.error_code == 33);
    REQUIRE(resp.mechanisms.size() == 3);
    CHECK(resp.mechanisms[0] == "PLAIN");
    CHECK(resp.mechanisms[1] == "SCRAM-SHA-512");
    CHECK(r.failure.find("GSSAPI") != std::string::npos);
  }
}

TEST_CASE("sasl: PLAIN over SaslAuthenticate v0-v2, right and wrong password") {
  fixture f;
  for (std::int16_t v = 0; v <= 2; ++v) {
    INFO("SaslAuthenticate v" << v);
    sasl_authenticator a(f.ctx);
    auto h = a.on_frame(handshake("PLAIN", 1));
    REQUIRE(h.what == next::reply);
    CHECK(response<proto::sasl_handshake_response>(h.frame, 1, 1).error_code == 0);
    auto ok = a.on_frame(authenticate(sec::make_plain_message("alice", "alice-secret"), v, 5));
    REQUIRE(ok.what == next::authenticated);
    auto resp = response<proto::sasl_authenticate_response>(ok.frame, v, 5);
    CHECK(resp.error_code == 0);
    CHECK(resp.session_lifetime_ms == 0);
    CHECK(a.principal().name == "alice");
    CHECK(a.principal().mechanism == "PLAIN");
    REQUIRE(a.principal().known);
    CHECK(a.principal().known->attributes.at("territory") == "US-WEST");

    sasl_authenticator b(f.ctx);
    b.on_frame(handshake("PLAIN", 1));
    auto bad = b.on_frame(authenticate(sec::make_plain_message("alice", "wrong-password"), v, 6));
    CHECK(bad.what == next::reply_and_close);
    auto err = response<proto::sasl_authenticate_response>(bad.frame, v, 6);
    CHECK(err.error_code == 58);
    REQUIRE(err.error_message);
    CHECK(std::string(*err.error_message).find("invalid credentials with SASL mechanism PLAIN") != std::string::npos);
    CHECK(bad.failure.find("wrong-password") == std::string::npos);  // no secret in the log line
  }
  // Unknown user and a principal without credentials fail the same way.
  for (const char* user : {"mallory", "nocreds"}) {
    sasl_authenticator a(f.ctx);
    a.on_frame(handshake("PLAIN", 1));
    auto r = a.on_frame(authenticate(sec::make_plain_message(user, "x"), 1));
    CHECK(r.what == next::reply_and_close);
    CHECK(response<proto::sasl_authenticate_response>(r.frame, 1, 2).error_code == 58);
  }
}

TEST_CASE("sasl: legacy flow (SaslHandshake v0, raw tokens) for PLAIN") {
  fixture f;
  sasl_authenticator a(f.ctx);
  REQUIRE(a.on_frame(handshake("PLAIN", 0)).what == next::reply);
  auto ok = a.on_frame(raw(sec::make_plain_message("alice", "alice-secret")));
  REQUIRE(ok.what == next::authenticated);
  CHECK(ok.frame == std::vector<std::byte>(4, std::byte{0}));  // an empty token: success
  CHECK(a.principal().name == "alice");

  sasl_authenticator b(f.ctx);
  b.on_frame(handshake("PLAIN", 0));
  auto bad = b.on_frame(raw(sec::make_plain_message("alice", "nope")));
  CHECK(bad.what == next::close);  // the legacy flow cannot carry an error: the broker closes
  CHECK_FALSE(bad.failure.empty());
}

TEST_CASE("sasl: SCRAM-SHA-256/512 in both flows, verified by a real SCRAM client") {
  fixture f;
  for (auto mech : {sec::scram_mechanism::sha256, sec::scram_mechanism::sha512}) {
    const std::string name(sec::scram_mechanism_name(mech));
    for (bool legacy : {false, true}) {
      for (const char* password : {"alice-secret", "bad"}) {
        INFO(name << (legacy ? " legacy" : " SaslAuthenticate v2") << " password " << password);
        sasl_authenticator a(f.ctx);
        REQUIRE(a.on_frame(handshake(name, legacy ? 0 : 1)).what == next::reply);
        sec::scram_client client(mech, "alice", password);
        auto send = [&](const std::string& token) {
          return a.on_frame(legacy ? raw(token) : authenticate(token, 2, 9));
        };
        auto token_of = [&](const sasl_authenticator::result& r) {
          return legacy ? raw_token(r.frame) : text(response<proto::sasl_authenticate_response>(r.frame, 2, 9).auth_bytes);
        };
        auto first = send(client.first_message());
        REQUIRE(first.what == next::reply);
        auto final_msg = client.final_message(token_of(first));
        REQUIRE(final_msg);
        auto done = send(*final_msg);
        if (std::string(password) == "alice-secret") {
          REQUIRE(done.what == next::authenticated);
          CHECK(client.verify_server_final(token_of(done)).has_value());
          CHECK(a.principal().name == "alice");
          CHECK(a.principal().mechanism == name);
        } else if (legacy) {
          CHECK(done.what == next::close);
        } else {
          CHECK(done.what == next::reply_and_close);
          CHECK(response<proto::sasl_authenticate_response>(done.frame, 2, 9).error_code == 58);
        }
      }
    }
  }
}

TEST_CASE("sasl: a second handshake or ApiVersions after the handshake closes the connection") {
  fixture f;
  sasl_authenticator a(f.ctx);
  a.on_frame(handshake("PLAIN", 1));
  CHECK(a.on_frame(handshake("PLAIN", 1)).what == next::close);
  sasl_authenticator b(f.ctx);
  b.on_frame(handshake("PLAIN", 1));
  CHECK(b.on_frame(request(proto::api_versions_request{}, 0, 3)).what == next::close);
}

TEST_CASE("sasl: OAUTHBEARER accepts a signed token and refuses a forged one") {
  fixture f({"OAUTHBEARER"});
  kgw::testing::jwt_test_signer signer(kgw::testing::jwt_test_signer::algorithm::rs256);
  kgw::testing::jwt_test_signer other(kgw::testing::jwt_test_signer::algorithm::rs256);
  auto keys = sec::jwks::parse(signer.jwks_json());
  REQUIRE(keys);
  sec::jwt_validator validator(std::move(*keys), sec::jwt_rules{});
  f.ctx.jwt = &validator;
  auto message = [](const std::string& token) { return "n,,\x01" "auth=Bearer " + token + "\x01\x01"; };

  sasl_authenticator a(f.ctx);
  a.on_frame(handshake("OAUTHBEARER", 1));
  auto ok = a.on_frame(authenticate(message(signer.sign_for_subject("svc-reports")), 1));
  REQUIRE(ok.what == next::authenticated);
  CHECK(a.principal().name == "svc-reports");
  CHECK(a.principal().mechanism == "OAUTHBEARER");
  CHECK(a.principal().known == nullptr);

  sasl_authenticator b(f.ctx);
  b.on_frame(handshake("OAUTHBEARER", 1));
  auto bad = b.on_frame(authenticate(message(other.sign_for_subject("svc-reports")), 1));
  CHECK(bad.what == next::reply_and_close);
  auto err = response<proto::sasl_authenticate_response>(bad.frame, 1, 2);
  CHECK(err.error_code == 58);
  REQUIRE(err.error_message);
  CHECK(std::string(*err.error_message).starts_with("Authentication failed: invalid token"));
}

TEST_CASE("ApiVersions answered locally: SASL ranges are the gateway's, too-new versions get v0 UNSUPPORTED_VERSION") {
  using kgw::gateway::api_range;
  std::vector<api_range> cluster{{0, 0, 9}, {3, 0, 12}, {17, 0, 1}, {18, 0, 3}, {36, 0, 2}, {55, 0, 1}, {1000, 0, 5}};
  auto frame = kgw::gateway::local_api_versions_response(42, 3, cluster, true);
  auto resp = response<proto::api_versions_response>(frame, 3, 42);
  CHECK(resp.error_code == 0);
  std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> got;
  for (const auto& k : resp.api_keys) got[k.api_key] = {k.min_version, k.max_version};
  CHECK(got.at(17) == std::pair<std::int16_t, std::int16_t>{0, 1});
  CHECK(got.at(36) == std::pair<std::int16_t, std::int16_t>{0, 2});
  CHECK(got.at(1000) == std::pair<std::int16_t, std::int16_t>{0, 5});  // unknown to the gateway: relayed opaque
  CHECK_FALSE(got.contains(55));  // DescribeQuorum carries addresses the gateway does not rewrite
  CHECK(got.at(3).second == std::min<std::int16_t>(12, proto::metadata_request::max_version));

  auto plain = response<proto::api_versions_response>(kgw::gateway::local_api_versions_response(1, 0, cluster, false), 0, 1);
  for (const auto& k : plain.api_keys) CHECK((k.api_key != 17 && k.api_key != 36));

  auto too_new = kgw::gateway::local_api_versions_response(5, 99, cluster, true);
  auto err = response<proto::api_versions_response>(too_new, 0, 5);
  CHECK(err.error_code == 35);
  REQUIRE(err.api_keys.size() == 1);
  CHECK(err.api_keys[0].api_key == 18);
}

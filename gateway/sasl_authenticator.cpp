#include "gateway/sasl_authenticator.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "gateway/security/jwt.h"
#include "gateway/security/plain.h"
#include "gateway/security/scram.h"
#include "protocol/errors.h"
#include "protocol/frames.h"
#include "protocol/api_keys.h"
#include "protocol/headers.h"
#include "protocol/sasl_authenticate.h"
#include "protocol/sasl_handshake.h"

namespace kgw::gateway {
namespace proto = kgw::protocol;

namespace {
namespace kafka_error = proto::kafka_error;

// Kafka's own wording, which client libraries show to users.
std::string invalid_credentials(std::string_view mechanism) {
  return "Authentication failed during authentication due to invalid credentials with SASL mechanism " +
         std::string(mechanism);
}

std::vector<std::byte> raw_frame(std::string_view token) {
  std::vector<std::byte> out(4 + token.size());
  const auto n = static_cast<std::uint32_t>(token.size());
  out[0] = std::byte(n >> 24);
  out[1] = std::byte(n >> 16);
  out[2] = std::byte(n >> 8);
  out[3] = std::byte(n);
  std::copy(token.begin(), token.end(), reinterpret_cast<char*>(out.data() + 4));
  return out;
}

std::string_view as_chars(proto::bytes_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

// The mechanism chosen in SaslHandshake and what it needs across steps.
struct sasl_authenticator::mechanism_state {
  std::optional<security::scram_server> scram;
};

sasl_authenticator::sasl_authenticator(const sasl_context& ctx) : ctx_(ctx) {}
sasl_authenticator::~sasl_authenticator() = default;

sasl_authenticator::result sasl_authenticator::on_frame(proto::bytes_view body) {
  if (phase_ == phase::tokens_legacy) return on_token(body, true, 0, 0);
  return on_request(body);
}

sasl_authenticator::result sasl_authenticator::on_request(proto::bytes_view body) {
  result res;
  proto::reader r(body);
  const std::int16_t key = r.i16();
  const std::int16_t version = r.i16();
  const std::int32_t corr = r.i32();
  if (!r.ok()) {
    res.failure = "request shorter than a request header";
    return res;
  }
  const proto::api_info* api = proto::find_api(key);
  const std::string name = api ? api->name : "API key " + std::to_string(key);

  if (key == proto::api::api_versions && phase_ == phase::start) {
    res.what = next::api_versions;
    res.correlation_id = corr;
    res.api_version = version;
    return res;
  }
  const bool handshake = key == proto::sasl_handshake_request::api_key;
  const bool authenticate = key == proto::sasl_authenticate_request::api_key;
  if (!(handshake && phase_ == phase::start) && !(authenticate && phase_ == phase::tokens_framed)) {
    res.failure = name + " v" + std::to_string(version) + " before authentication completed";
    return res;
  }
  if (version < api->min_version || version > api->max_version) {
    res.failure = name + " v" + std::to_string(version) + " is not supported";
    return res;
  }
  proto::reader br(body);
  proto::request_header hdr;
  hdr.decode(br, proto::request_header_version(key, version));

  if (handshake) {
    proto::sasl_handshake_request req;
    req.decode(br, version);
    if (!br.ok()) {
      res.failure = "malformed SaslHandshake request";
      return res;
    }
    proto::sasl_handshake_response resp;
    for (const auto& m : ctx_.mechanisms) resp.mechanisms.push_back(m);
    const std::string wanted(req.mechanism);
    const bool enabled = std::find(ctx_.mechanisms.begin(), ctx_.mechanisms.end(), wanted) != ctx_.mechanisms.end();
    if (!enabled) {
      resp.error_code = kafka_error::unsupported_sasl_mechanism;
      res.frame = proto::encode_response(resp, version, corr).flatten();
      res.what = next::reply_and_close;
      std::string list;
      for (const auto& m : ctx_.mechanisms) list += (list.empty() ? "" : ", ") + m;
      res.failure = "unsupported SASL mechanism '" + wanted.substr(0, 64) + "' (enabled: " + list + ")";
      return res;
    }
    mechanism_ = wanted;
    state_ = std::make_unique<mechanism_state>();
    if (auto scram = security::scram_mechanism_from_name(mechanism_)) {
      const identity_store* ids = ctx_.identities;
      const auto m = *scram;
      state_->scram.emplace(m, [ids, m](std::string_view user) { return ids ? ids->scram(user, m) : nullptr; });
    }
    phase_ = version == 0 ? phase::tokens_legacy : phase::tokens_framed;
    res.frame = proto::encode_response(resp, version, corr).flatten();
    res.what = next::reply;
    return res;
  }

  proto::sasl_authenticate_request req;
  req.decode(br, version);
  if (!br.ok()) {
    res.failure = "malformed SaslAuthenticate request";
    return res;
  }
  return on_token(req.auth_bytes, false, corr, version);
}

sasl_authenticator::result sasl_authenticator::on_token(proto::bytes_view token, bool legacy, std::int32_t corr,
                                                        std::int16_t version) {
  result res;
  auto answer = [&](std::string_view bytes, next what) {
    res.what = what;
    if (legacy) {
      res.frame = raw_frame(bytes);
    } else {
      proto::sasl_authenticate_response resp;
      resp.auth_bytes = proto::bytes_view(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
      resp.session_lifetime_ms = 0;  // no re-authentication (KIP-368) is required
      res.frame = proto::encode_response(resp, version, corr).flatten();
    }
    return res;
  };
  auto failed = [&](std::string message, std::string log_detail) {
    res.failure = log_detail.empty() ? message : message + " (" + log_detail + ")";
    res.credentials_refused = true;
    phase_ = phase::done;
    if (legacy) {
      // The legacy flow has no way to carry an error: a broker closes the connection.
      res.what = next::close;
      return res;
    }
    proto::sasl_authenticate_response resp;
    resp.error_code = kafka_error::sasl_authentication_failed;
    resp.error_message = message;
    res.frame = proto::encode_response(resp, version, corr).flatten();
    res.what = next::reply_and_close;
    return res;
  };
  auto succeeded = [&](std::string name, std::string_view reply) {
    principal_.name = std::move(name);
    principal_.mechanism = mechanism_;
    principal_.known = ctx_.identities ? ctx_.identities->find(principal_.name) : nullptr;
    phase_ = phase::done;
    return answer(reply, next::authenticated);
  };
  const std::string_view text = as_chars(token);

  if (mechanism_ == "PLAIN") {
    auto creds = security::parse_plain_message(text);
    if (!creds) return failed(invalid_credentials(mechanism_), creds.error());
    if (!ctx_.identities || !ctx_.identities->verify_plain(creds->username, creds->password))
      return failed(invalid_credentials(mechanism_), "user '" + creds->username.substr(0, 128) + "'");
    return succeeded(creds->username, {});
  }
  if (state_ && state_->scram) {
    auto step = state_->scram->on_message(text);
    switch (step.st) {
      case security::scram_server::state::need_more:
        return answer(step.reply, next::reply);
      case security::scram_server::state::succeeded:
        return succeeded(state_->scram->username(), step.reply);
      case security::scram_server::state::failed:
        return failed(step.error.empty() ? invalid_credentials(mechanism_) : step.error, {});
    }
  }
  if (mechanism_ == "OAUTHBEARER") {
    auto msg = security::parse_oauthbearer_client_response(text);
    if (!msg) return failed("Authentication failed: invalid OAUTHBEARER message", msg.error());
    if (!ctx_.jwt) return failed("Authentication failed: OAUTHBEARER is not configured", {});
    auto id = ctx_.jwt->validate(msg->token, std::chrono::system_clock::now());
    if (!id) return failed("Authentication failed: invalid token: " + id.error(), {});
    // As Kafka brokers do: a client may not ask to act as someone other than the token's subject.
    if (!msg->authzid.empty() && msg->authzid != id->principal)
      return failed("Authentication failed: authorization id does not match the token's principal", {});
    return succeeded(id->principal, {});
  }
  res.failure = "SASL state error for mechanism " + mechanism_;
  res.what = next::close;
  return res;
}

}  // namespace kgw::gateway

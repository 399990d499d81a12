#pragma once
// The SASL exchange a client has with the gateway on a SASL_PLAINTEXT / SASL_SSL listener, the
// way a Kafka broker runs it (KIP-43, KIP-152):
//   ApiVersions*  ->  SaslHandshake v0|v1 (mechanism)  ->  tokens until the mechanism is done.
// After SaslHandshake v1 the tokens travel in SaslAuthenticate requests (v0-v2); after v0 they
// are raw size-prefixed frames with no Kafka header (the legacy flow kafka-python still uses).
// Failures answer SASL_AUTHENTICATION_FAILED (58) with a message and close; an unknown mechanism
// answers UNSUPPORTED_SASL_MECHANISM (33) with the enabled list and closes; any other request
// before authentication closes the connection. Messages never contain secrets.
//
// No I/O here: the session feeds frames in and writes out what comes back.
// Threading: one per connection, on its worker's thread; the context is shared read-only.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/identity_store.h"
#include "protocol/wire.h"

namespace kgw::security {
class jwt_validator;
}

namespace kgw::gateway {

struct sasl_context {
  std::vector<std::string> mechanisms;  // enabled, in the order announced
  const identity_store* identities = nullptr;  // the live generation's, set per connection
  const security::jwt_validator* jwt = nullptr;  // set when OAUTHBEARER is enabled
};

class sasl_authenticator {
 public:
  explicit sasl_authenticator(const sasl_context& ctx);
  ~sasl_authenticator();

  enum class next {
    reply,            // send `frame`, read the next frame
    reply_and_close,  // send `frame`, then close (authentication failed)
    close,            // close without answering (protocol violation, legacy-flow failure)
    authenticated,    // send `frame` (may be empty), then relay
    api_versions,     // answer ApiVersions (`correlation_id`, `api_version`) and read on
  };
  struct result {
    next what = next::close;
    std::vector<std::byte> frame;  // complete, size prefix included
    std::string failure;           // why authentication failed or the connection closes (for the log)
    bool credentials_refused = false;  // a failed login (delayed, as Kafka does), not a protocol error
    std::int32_t correlation_id = 0;
    std::int16_t api_version = 0;
  };

  // body: one frame without its 4-byte size.
  result on_frame(protocol::bytes_view body);

  // The next frame is a token of the chosen mechanism: the step that may check a password or a
  // signature (worth running off the worker thread, gateway/auth_pool.h).
  bool expects_token() const { return phase_ == phase::tokens_framed || phase_ == phase::tokens_legacy; }

  const authenticated_principal& principal() const { return principal_; }
  const std::string& mechanism() const { return mechanism_; }

 private:
  struct mechanism_state;
  result on_request(protocol::bytes_view body);
  result on_token(protocol::bytes_view token, bool legacy, std::int32_t correlation_id, std::int16_t version);

  const sasl_context& ctx_;
  enum class phase { start, tokens_framed, tokens_legacy, done } phase_ = phase::start;
  std::string mechanism_;
  std::unique_ptr<mechanism_state> state_;
  authenticated_principal principal_;
};

}  // namespace kgw::gateway

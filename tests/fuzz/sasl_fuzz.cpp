// libFuzzer target: the gateway's side of a SASL exchange (gateway/sasl_authenticator.h), fed
// whole frames as a client would send them. Input: frames, each a 2-byte big-endian length and
// that many bytes (a frame body without its Kafka size prefix). Mechanisms PLAIN, SCRAM-SHA-256
// and SCRAM-SHA-512; principal alice has SCRAM credentials for "alice-secret", principal
// nocreds has none (tests/support/sasl_principals.h). Properties:
// - `authenticated` only with valid credentials: the token of the frame that authenticated is
//   PLAIN's [authzid] NUL alice NUL alice-secret (authzid empty or alice) and the principal is
//   alice. A SCRAM exchange cannot be completed without the server's random nonce, so SCRAM
//   reaching `authenticated` is a forgery;
// - every reply is a complete frame: its size prefix is its length.
// The exchange stops at the first close, reply_and_close or authenticated, as the session does.
// Seeds: handshakes v0/v1 for each mechanism, good and wrong PLAIN tokens, a SCRAM first message.
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "gateway/sasl_authenticator.h"
#include "protocol/api_keys.h"
#include "protocol/headers.h"
#include "protocol/sasl_authenticate.h"
#include "tests/support/sasl_principals.h"

namespace proto = kgw::protocol;
using kgw::fuzz::require;
using kgw::gateway::sasl_authenticator;
using next = sasl_authenticator::next;

namespace {

// The SASL token a frame carries: a SaslAuthenticate request's auth_bytes, else the raw frame
// (the legacy flow after SaslHandshake v0).
std::string token_of(proto::bytes_view frame) {
  if (frame.size() >= 4 && kgw::fuzz::be16(reinterpret_cast<const std::uint8_t*>(frame.data())) == proto::api::sasl_authenticate) {
    const std::int16_t v = kgw::fuzz::be16(reinterpret_cast<const std::uint8_t*>(frame.data()) + 2);
    proto::reader r(frame);
    proto::request_header h;
    h.decode(r, proto::request_header_version(proto::api::sasl_authenticate, v));
    proto::sasl_authenticate_request m;
    m.decode(r, v);
    if (r.ok() && r.remaining() == 0) return std::string(proto::as_string(m.auth_bytes));
  }
  return std::string(proto::as_string(frame));
}

bool valid_plain(const std::string& token) {
  const std::size_t a = token.find('\0');
  if (a == std::string::npos) return false;
  const std::size_t b = token.find('\0', a + 1);
  if (b == std::string::npos) return false;
  const std::string authzid = token.substr(0, a), user = token.substr(a + 1, b - a - 1), pass = token.substr(b + 1);
  return (authzid.empty() || authzid == "alice") && user == "alice" && pass == "alice-secret";
}

void check_reply(const sasl_authenticator::result& res) {
  if (res.frame.empty()) return;
  // At least a size: the legacy flow answers a token with a raw frame, empty for PLAIN.
  require(res.frame.size() >= 4, "a reply shorter than its size prefix");
  const auto* f = reinterpret_cast<const std::uint8_t*>(res.frame.data());
  const std::uint32_t n = (std::uint32_t{f[0]} << 24) | (std::uint32_t{f[1]} << 16) | (std::uint32_t{f[2]} << 8) | f[3];
  require(n == res.frame.size() - 4, "a reply's size prefix is not its length");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static kgw::testing::sasl_principals f;
  sasl_authenticator auth(f.ctx);
  bool ended = false;
  for (std::size_t at = 0; at + 2 <= size;) {
    const std::size_t len = std::min<std::size_t>(static_cast<std::uint16_t>(kgw::fuzz::be16(data + at)), size - at - 2);
    // An owned copy of exactly the frame: reads past it are ASan reports.
    const std::vector<std::byte> frame(reinterpret_cast<const std::byte*>(data + at + 2),
                                       reinterpret_cast<const std::byte*>(data + at + 2 + len));
    at += 2 + len;
    const auto res = auth.on_frame(frame);
    check_reply(res);
    switch (res.what) {
      case next::authenticated:
        require(auth.mechanism() == "PLAIN", "authenticated through a SCRAM exchange without the server nonce",
                auth.mechanism());
        require(auth.principal().name == "alice", "authenticated as a principal without valid credentials",
                auth.principal().name);
        require(valid_plain(token_of(frame)), "authenticated with a PLAIN token that is not alice's credentials");
        ended = true;
        break;
      case next::close:
      case next::reply_and_close:
        ended = true;
        break;
      case next::reply:
      case next::api_versions:
        break;
    }
    if (ended) break;
  }
  return 0;
}

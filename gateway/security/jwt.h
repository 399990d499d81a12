#pragma once
// SASL/OAUTHBEARER (RFC 7628) on the server side: parses the client's initial response and
// validates its bearer token, a compact JWS (RFC 7515) signed with RS256 or ES256 (RFC 7518),
// against public keys from a JWKS document (RFC 7517), then checks the JWT claims (RFC 7519).
// Keys come only from the configured JWKS; "jku", "jwk" and "x5u" in a token header are never
// followed, since trusting keys named by the token would let anyone sign.
//
// Threading: jwks and jwt_validator are immutable once built; validate() is const and may be
// called from any number of threads at once. To rotate keys, build a new validator and swap a
// shared_ptr<const jwt_validator>.
#include <chrono>
#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace kgw::security {

// Longest compact token accepted; real access tokens are a few KiB.
inline constexpr std::size_t max_jwt_size = 64 * 1024;
// Longest JWKS document accepted; identity providers publish a handful of keys.
inline constexpr std::size_t max_jwks_size = 1024 * 1024;
// Most entries a JWKS "keys" array may hold; bounds the work of trying every key of a type.
inline constexpr std::size_t max_jwks_keys = 100;

struct jwt_rules {
  std::string issuer;                  // required match of "iss" when non-empty
  std::vector<std::string> audiences;  // when non-empty, "aud" (string or array) must contain one of them
  std::string principal_claim = "sub"; // claim whose string value becomes the principal
  std::chrono::seconds clock_skew{30};
};

struct jwt_identity {
  std::string principal;
  // The token's "exp". Tokens valid beyond year 2255 report that year (the clock's range).
  std::chrono::system_clock::time_point expires_at;
};

// Public keys from a JWKS document: RSA (n, e; 2048 to 8192 bits) and EC P-256 (crv, x, y).
// Honours "kid", "alg" (a key restricted to another algorithm is unusable), "use" (only "sig")
// and "key_ops" (must include "verify"). Private members ("d", ...) are ignored.
class jwks {
 public:
  enum class key_type { rsa, ec_p256 };

  // Keys it cannot use (other kty/crv, use=enc, weak RSA, ...) are skipped and described in
  // skipped(); error if none is usable, the JSON is invalid, or the document is oversized.
  static std::expected<jwks, std::string> parse(std::string_view json);

  std::size_t size() const { return keys_.size(); }
  // One line per skipped key, e.g. "key 2 (kid \"abc\"): use is not \"sig\"", for start-up logs.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  friend class jwt_validator;
  struct key {
    std::string kid;  // empty when the JWK has none
    key_type type;
    std::shared_ptr<evp_pkey_st> pkey;  // shared: copies of a jwks share the immutable key
  };
  std::vector<key> keys_;
  std::vector<std::string> skipped_;
};

class jwt_validator {
 public:
  jwt_validator(jwks keys, jwt_rules rules);

  // Validates a compact JWS: header alg must be RS256 or ES256 ("none", HS*, anything else and
  // an alg that does not fit the key type are rejected); "crit" is rejected as no extension is
  // understood. The key is chosen by "kid" when present (unknown kid = error), else every key
  // of the right type is tried. Then "exp" is required and in the future, "nbf"/"iat" if present
  // not in the future (all with clock_skew), iss/aud per rules, and the principal claim must be
  // a non-empty string of at most 1024 bytes without control characters.
  // Error strings are safe to log and to send to the client: they never include the token, the
  // signature, or claim values.
  std::expected<jwt_identity, std::string> validate(std::string_view compact_jws,
                                                    std::chrono::system_clock::time_point now) const;

  const jwt_rules& rules() const { return rules_; }
  const jwks& keys() const { return keys_; }

 private:
  jwks keys_;
  jwt_rules rules_;
};

// Base64url without padding (RFC 7515 section 2): rejects "=", characters outside the URL-safe
// alphabet, impossible lengths, and non-zero unused trailing bits (so each byte string has
// exactly one accepted encoding).
std::expected<std::string, std::string> base64url_decode(std::string_view text);

struct oauthbearer_client_response {
  std::string authzid;  // "a=" of the gs2-header, "=2C"/"=3D" decoded; empty when absent
  std::string token;    // the bearer token of "auth=Bearer <token>"
};

// RFC 7628 client initial response: gs2-header ("n,," or "n,a=authzid,") then kvpairs separated
// by \x01, e.g. "n,,\x01auth=Bearer <token>\x01\x01". Kafka clients also send SASL extensions
// as extra key=value pairs; they are checked for syntax and otherwise ignored. Channel binding
// ("p=") is refused as OAUTHBEARER has none. A caller should reject a non-empty authzid that
// differs from the validated principal, as Kafka brokers do.
std::expected<oauthbearer_client_response, std::string> parse_oauthbearer_client_response(
    std::string_view message);

// As above, returning only the token.
std::expected<std::string, std::string> parse_oauthbearer_initial_response(std::string_view message);

}  // namespace kgw::security

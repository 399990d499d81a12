#pragma once
// Test-only JWT issuer: generates a throw-away RS256 (RSA 2048) or ES256 (P-256) key pair with
// OpenSSL at construction, publishes the public half as a JWKS, and signs compact JWS tokens,
// including deliberately broken ones for negative tests. Used by unit tests and by end-to-end
// tests that hand a token to real Kafka clients.
//
// Threading: immutable after construction; const members may be called from any thread.
// Construction throws std::runtime_error if OpenSSL cannot generate a key (tests cannot go on).
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace kgw::testing {

// Base64url without padding, as JWS uses it.
std::string base64url_encode(std::string_view bytes);

class jwt_test_signer {
 public:
  enum class algorithm { rs256, es256 };

  explicit jwt_test_signer(algorithm alg, std::string kid = "test-key");

  algorithm alg() const { return alg_; }
  const std::string& kid() const { return kid_; }

  // The public key as one JWK object (kty, kid, use "sig", alg, n/e or crv/x/y); lets tests
  // assemble a JWKS from several signers.
  std::string jwk_json() const;
  std::string jwks_json() const;  // {"keys":[<jwk_json()>]}
  // SubjectPublicKeyInfo PEM; the "secret" of the HS256 key-confusion attack.
  std::string public_key_pem() const;

  // Signs a token with the given claims JSON object text (e.g. R"({"sub":"alice","exp":...})");
  // header {"alg":...,"kid":...,"typ":"JWT"}.
  std::string sign(std::string_view claims_json) const;
  // Signs with this key whatever the header says; for negative tests.
  std::string sign_with_header(std::string_view header_json, std::string_view claims_json) const;
  // {"sub":subject,"iat":now,"exp":now+lifetime} with the wall clock, for end-to-end tests.
  std::string sign_for_subject(std::string_view subject,
                               std::chrono::seconds lifetime = std::chrono::hours(1)) const;

  // An HMAC-SHA256 JWS over base64url(header).base64url(claims) with the given secret.
  static std::string sign_hs256(std::string_view header_json, std::string_view claims_json,
                                std::string_view secret);

 private:
  algorithm alg_;
  std::string kid_;
  std::shared_ptr<evp_pkey_st> key_;  // shared so the signer stays copyable
};

}  // namespace kgw::testing

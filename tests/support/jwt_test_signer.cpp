#include "tests/support/jwt_test_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include "gateway/security/openssl_ptr.h"

namespace kgw::testing {
namespace {

using bn_ptr = security::openssl_ptr<BIGNUM, BN_free>;
using md_ctx_ptr = security::openssl_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using bio_ptr = security::openssl_ptr<BIO, BIO_free>;
using ecdsa_sig_ptr = security::openssl_ptr<ECDSA_SIG, ECDSA_SIG_free>;

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("jwt_test_signer: ") + what); }

std::string bn_bytes(const BIGNUM* bn, int size) {
  std::string out(static_cast<std::size_t>(size), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size) != size) fail("BN_bn2binpad");
  return out;
}

std::string bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) fail("EVP_PKEY_get_bn_param");
  bn_ptr bn(raw);
  return bn_bytes(bn.get(), BN_num_bytes(bn.get()));
}

// Enough JSON string escaping for kids and subjects chosen by tests.
std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

const char* alg_name(jwt_test_signer::algorithm alg) {
  return alg == jwt_test_signer::algorithm::rs256 ? "RS256" : "ES256";
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16 |
                            static_cast<unsigned char>(bytes[i + 1]) << 8 | static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
    out += alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    const std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
  } else if (bytes.size() - i == 2) {
    const std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
  }
  return out;
}

jwt_test_signer::jwt_test_signer(algorithm alg, std::string kid) : alg_(alg), kid_(std::move(kid)) {
  EVP_PKEY* raw = alg == algorithm::rs256 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  if (!raw) fail("key generation");
  key_.reset(raw, EVP_PKEY_free);
}

std::string jwt_test_signer::jwk_json() const {
  std::string out = R"({"kid":)" + json_quote(kid_) + R"(,"use":"sig","alg":")" + alg_name(alg_) + "\",";
  if (alg_ == algorithm::rs256) {
    out += R"("kty":"RSA","n":")" + base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N)) + R"(","e":")" +
           base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E)) + "\"}";
  } else {
    unsigned char point[65];
    std::size_t size = 0;
    if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &size) != 1 ||
        size != sizeof point || point[0] != 0x04)
      fail("EC public key export");
    const std::string_view bytes(reinterpret_cast<const char*>(point), size);
    out += R"("kty":"EC","crv":"P-256","x":")" + base64url_encode(bytes.substr(1, 32)) + R"(","y":")" +
           base64url_encode(bytes.substr(33, 32)) + "\"}";
  }
  return out;
}

std::string jwt_test_signer::jwks_json() const { return R"({"keys":[)" + jwk_json() + "]}"; }

std::string jwt_test_signer::public_key_pem() const {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) fail("PEM_write_bio_PUBKEY");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string jwt_test_signer::sign(std::string_view claims_json) const {
  const std::string header =
      std::string(R"({"alg":")") + alg_name(alg_) + R"(","kid":)" + json_quote(kid_) + R"(,"typ":"JWT"})";
  return sign_with_header(header, claims_json);
}

std::string jwt_test_signer::sign_with_header(std::string_view header_json, std::string_view claims_json) const {
  const std::string input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key_.get(), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    fail("EVP_DigestSign");
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    fail("EVP_DigestSign");
  signature.resize(size);
  if (alg_ == algorithm::es256) {
    // OpenSSL produces DER; JOSE wants R || S, each left-padded to 32 bytes.
    const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
    ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())));
    if (!sig) fail("d2i_ECDSA_SIG");
    signature = bn_bytes(ECDSA_SIG_get0_r(sig.get()), 32) + bn_bytes(ECDSA_SIG_get0_s(sig.get()), 32);
  }
  return input + "." + base64url_encode(signature);
}

std::string jwt_test_signer::sign_for_subject(std::string_view subject, std::chrono::seconds lifetime) const {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return sign(R"({"sub":)" + json_quote(subject) + R"(,"iat":)" + std::to_string(now) + R"(,"exp":)" +
              std::to_string(now + lifetime.count()) + "}");
}

std::string jwt_test_signer::sign_hs256(std::string_view header_json, std::string_view claims_json,
                                        std::string_view secret) {
  const std::string input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size))
    fail("HMAC");
  return input + "." + base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), size));
}

}  // namespace kgw::testing

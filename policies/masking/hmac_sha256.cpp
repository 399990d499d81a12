#include "policies/masking/hmac_sha256.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <string>

namespace kgw::policies::masking {

namespace {

// One per thread: the HMAC implementation, a context, and the key it was last keyed with.
struct keyed_context {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  std::string key;
  bool keyed = false;

  keyed_context() {
    mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac) ctx = EVP_MAC_CTX_new(mac);
  }
  ~keyed_context() {
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
  keyed_context(const keyed_context&) = delete;
  keyed_context& operator=(const keyed_context&) = delete;

  bool init(std::string_view k) {
    if (!ctx) return false;
    if (keyed && k == key) return EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1;  // same key: reuse it
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    // HMAC with an empty key is still HMAC (the key pads to zeros); OpenSSL wants a pointer.
    static const unsigned char empty = 0;
    const unsigned char* kp = k.empty() ? &empty : reinterpret_cast<const unsigned char*>(k.data());
    keyed = EVP_MAC_init(ctx, kp, k.size(), params) == 1;
    if (keyed) key.assign(k);
    return keyed;
  }
};

keyed_context& context() {
  thread_local keyed_context c;
  return c;
}

}  // namespace

std::optional<sha256_digest> hmac_sha256(std::string_view key, std::string_view data) {
  sha256_digest out{};
  keyed_context& c = context();
  std::size_t len = 0;
  if (!c.init(key) ||
      EVP_MAC_update(c.ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(c.ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    c.keyed = false;  // start from a fresh key next time
    return std::nullopt;
  }
  return out;
}

bool hmac_sha256_hex(std::string_view key, std::string_view data, char* out) {
  static constexpr char hex[] = "0123456789abcdef";
  auto d = hmac_sha256(key, data);
  if (!d) return false;
  for (std::size_t k = 0; k < d->size(); ++k) {
    out[2 * k] = hex[(*d)[k] >> 4];
    out[2 * k + 1] = hex[(*d)[k] & 0xF];
  }
  return true;
}

}  // namespace kgw::policies::masking

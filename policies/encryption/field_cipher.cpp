// AES-256-GCM seal/open of one field: see policies/encryption/field_cipher.h. OpenSSL's EVP is
// the implementation (constant-time, hardware AES where the CPU has it); the cipher is fetched
// once and each thread reuses one context, so a seal costs no allocation but its output.
#include "policies/encryption/field_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace kgw::policies::encryption {
namespace {

const EVP_CIPHER* aes_256_gcm() {
  static const struct fetched {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    ~fetched() { EVP_CIPHER_free(c); }
  } cipher;
  return cipher.c;
}

// Each thread keeps a few cipher contexts already keyed: re-keying AES-GCM costs the key
// schedule and GHASH table every call, while a keyed context only takes a new nonce. Entries are
// matched by the key's bytes (keys are immutable), replaced round-robin, and cleansed when
// dropped (EVP_CIPHER_CTX_free clears the key schedule).
struct keyed_context {
  std::array<unsigned char, key_bytes> key{};
  bool used = false;
  bool encrypting = false;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx{nullptr, &EVP_CIPHER_CTX_free};
};

EVP_CIPHER_CTX* keyed(const std::array<unsigned char, key_bytes>& key, bool encrypt) {
  thread_local std::array<keyed_context, 8> cache;
  thread_local std::size_t next = 0;
  for (auto& c : cache)
    if (c.used && c.encrypting == encrypt && CRYPTO_memcmp(c.key.data(), key.data(), key_bytes) == 0) return c.ctx.get();
  keyed_context& c = cache[next];
  next = (next + 1) % cache.size();
  if (!c.ctx) c.ctx.reset(EVP_CIPHER_CTX_new());
  if (!c.ctx || !aes_256_gcm()) return nullptr;
  c.used = false;
  OPENSSL_cleanse(c.key.data(), c.key.size());
  const int ok = encrypt ? EVP_EncryptInit_ex2(c.ctx.get(), aes_256_gcm(), key.data(), nullptr, nullptr)
                         : EVP_DecryptInit_ex2(c.ctx.get(), aes_256_gcm(), key.data(), nullptr, nullptr);
  if (ok != 1) return nullptr;
  c.key = key;
  c.used = true;
  c.encrypting = encrypt;
  return c.ctx.get();
}

// Random nonces, drawn from the DRBG 256 at a time (one RAND_bytes call per seal is a good part
// of a small field's cost). A forked child must not reuse its parent's batch: it starts empty.
struct nonce_batch {
  std::array<unsigned char, nonce_bytes * 256> bytes{};
  std::size_t used = 256;
};
nonce_batch& local_nonces() {
  thread_local nonce_batch b;
  return b;
}
void forget_nonces_in_child() { local_nonces().used = 256; }

bool next_nonce(unsigned char* out) {
  static const int registered = pthread_atfork(nullptr, nullptr, forget_nonces_in_child);
  (void)registered;
  nonce_batch& b = local_nonces();
  if (b.used == 256) {
    if (RAND_bytes(b.bytes.data(), static_cast<int>(b.bytes.size())) != 1) return false;
    b.used = 0;
  }
  std::copy_n(b.bytes.data() + b.used * nonce_bytes, nonce_bytes, out);
  OPENSSL_cleanse(b.bytes.data() + b.used * nonce_bytes, nonce_bytes);
  ++b.used;
  return true;
}

// The associated data of a field, built in a per-thread buffer (valid until the next call).
const std::string& associated_data(const binding& where, std::string_view key_id) {
  thread_local std::string aad;
  aad.assign("kgw1 field");
  append_part(aad, where.topic);
  append_part(aad, where.field);
  append_part(aad, key_id);
  if (where.record_key) {
    append_part(aad, *where.record_key);
  } else {
    aad.append("\xff\xff\xff\xff", 4);
  }
  return aad;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }


}  // namespace

// Strict RFC 4648 base64 (padding required, no whitespace), table-driven: the decode runs once per
// encrypted field fetched, so it is on the hot path.
constexpr std::array<signed char, 256> base64_values = [] {
  std::array<signed char, 256> v{};
  v.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  return v;
}();

namespace {

bool decode_base64_into(std::string_view in, std::string& out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  const std::size_t n = in.size() / 4 * 3 - pad;
  bool ok = true;
  out.resize_and_overwrite(n, [&](char* dst, std::size_t) {
    std::size_t o = 0;
    for (std::size_t i = 0; i < in.size(); i += 4) {
      const bool last = i + 4 == in.size();
      int v[4];
      for (int k = 0; k < 4; ++k) {
        const char c = in[i + k];
        if (last && c == '=' && k >= 4 - static_cast<int>(pad)) {
          v[k] = 0;
          continue;
        }
        v[k] = base64_values[static_cast<unsigned char>(c)];
        if (v[k] < 0) ok = false;
      }
      const unsigned triple = (static_cast<unsigned>(v[0] & 63) << 18) | (static_cast<unsigned>(v[1] & 63) << 12) |
                              (static_cast<unsigned>(v[2] & 63) << 6) | static_cast<unsigned>(v[3] & 63);
      const char bytes3[3] = {static_cast<char>(triple >> 16), static_cast<char>((triple >> 8) & 0xff),
                              static_cast<char>(triple & 0xff)};
      for (int k = 0; k < 3 && o < n; ++k) dst[o++] = bytes3[k];
      // Padding bits must be zero (a canonical encoding only).
      if (last && pad == 1 && (v[2] & 3) != 0) ok = false;
      if (last && pad == 2 && (v[1] & 15) != 0) ok = false;
    }
    return n;
  });
  return ok;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view in) {
  std::string out;
  if (!decode_base64_into(in, out)) return std::nullopt;
  return out;
}

namespace {

void encode_base64_append(std::string_view in, std::string& out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::size_t at = out.size();
  // (libstdc++ 12 passes the capacity as the second argument, not the size asked for: every
  // resize_and_overwrite here returns the size it means.)
  const std::size_t total = at + (in.size() + 2) / 3 * 4;
  out.resize_and_overwrite(total, [&](char* dst, std::size_t) {
    std::size_t o = at;
    for (std::size_t i = 0; i < in.size(); i += 3) {
      const std::size_t left = in.size() - i;
      const unsigned b0 = static_cast<unsigned char>(in[i]);
      const unsigned b1 = left > 1 ? static_cast<unsigned char>(in[i + 1]) : 0;
      const unsigned b2 = left > 2 ? static_cast<unsigned char>(in[i + 2]) : 0;
      const unsigned v = (b0 << 16) | (b1 << 8) | b2;
      dst[o++] = alphabet[(v >> 18) & 63];
      dst[o++] = alphabet[(v >> 12) & 63];
      dst[o++] = left > 1 ? alphabet[(v >> 6) & 63] : '=';
      dst[o++] = left > 2 ? alphabet[v & 63] : '=';
    }
    return total;
  });
}

}  // namespace

std::string encode_base64(std::string_view in) {
  std::string out;
  encode_base64_append(in, out);
  return out;
}

void append_part(std::string& out, std::string_view part) {
  const auto n = static_cast<std::uint32_t>(part.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(part);
}

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

bool looks_like_token(std::string_view text) {
  if (!text.starts_with("kgw")) return false;
  std::size_t i = 3;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  return i > 3 && i < text.size() && text[i] == ':';
}

namespace {

// nonce | ciphertext | tag of `plaintext`, appended to out.
bool seal_append(const std::array<unsigned char, key_bytes>& key, std::string_view aad, std::string_view plaintext,
                 std::string& out) {
  EVP_CIPHER_CTX* ctx = keyed(key, true);
  if (!ctx) return false;
  const std::size_t at = out.size();
  bool ok = false;
  const std::size_t total = at + nonce_bytes + plaintext.size() + tag_bytes;
  out.resize_and_overwrite(total, [&](char* buf, std::size_t) {
    auto* nonce = reinterpret_cast<unsigned char*>(buf + at);
    unsigned char* ct = nonce + nonce_bytes;
    int n = 0, tail = 0;
    ok = next_nonce(nonce) && EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce, nullptr) == 1 &&
         EVP_EncryptUpdate(ctx, nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1 &&
         EVP_EncryptUpdate(ctx, ct, &n, bytes(plaintext), static_cast<int>(plaintext.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx, ct + n, &tail) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes), ct + plaintext.size()) == 1;
    return total;
  });
  if (!ok) out.resize(at);
  return ok;
}

}  // namespace

std::expected<std::string, std::string> aead_seal(const std::array<unsigned char, key_bytes>& key, std::string_view aad,
                                                  std::string_view plaintext) {
  if (plaintext.size() > (std::size_t{1} << 30)) return std::unexpected(std::string("value too large to encrypt"));
  std::string sealed;
  if (!seal_append(key, aad, plaintext, sealed)) return std::unexpected(std::string("AES-256-GCM encryption failed"));
  return sealed;
}

std::expected<std::string, std::string> aead_open(const std::array<unsigned char, key_bytes>& key, std::string_view aad,
                                                  std::string_view sealed) {
  if (sealed.size() < nonce_bytes + tag_bytes) return std::unexpected(std::string("sealed value too short"));
  const std::size_t length = sealed.size() - nonce_bytes - tag_bytes;
  const auto* in = bytes(sealed);
  // GCM's tag is set before the final call and checked by it; the context is not const about it.
  unsigned char tag[tag_bytes];
  std::copy(in + nonce_bytes + length, in + nonce_bytes + length + tag_bytes, tag);
  EVP_CIPHER_CTX* ctx = keyed(key, false);
  std::string plain;
  bool ok = false;
  plain.resize_and_overwrite(length, [&](char* buf, std::size_t) {
    auto* out = reinterpret_cast<unsigned char*>(buf);
    int n = 0, tail = 0;
    ok = ctx && EVP_DecryptInit_ex2(ctx, nullptr, nullptr, in, nullptr) == 1 &&
         EVP_DecryptUpdate(ctx, nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx, out, &n, in + nonce_bytes, static_cast<int>(length)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes), tag) == 1 &&
         EVP_DecryptFinal_ex(ctx, out + n, &tail) == 1;
    return length;
  });
  if (!ok) {
    // Never hand back what was decrypted before the tag said no.
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::unexpected(std::string("does not authenticate (tampered, moved or wrong key)"));
  }
  return plain;
}

std::expected<std::string, std::string> seal(const data_key& key, const binding& where, std::string_view plaintext) {
  if (!valid_key_id(key.id)) return std::unexpected("invalid data key id '" + key.id + "'");
  if (plaintext.size() > (std::size_t{1} << 30)) return std::unexpected(std::string("value too large to encrypt"));
  thread_local std::string sealed;
  sealed.clear();
  if (!seal_append(key.bytes, associated_data(where, key.id), plaintext, sealed))
    return std::unexpected(std::string("AES-256-GCM encryption failed"));
  std::string text;
  text.reserve(token_prefix.size() + key.id.size() + 1 + (sealed.size() + 2) / 3 * 4);
  text.append(token_prefix).append(key.id).push_back(':');
  encode_base64_append(sealed, text);
  return text;
}

std::expected<std::string, std::string> seal_value(const data_key& key, const binding& where, std::string_view plaintext) {
  if (!valid_key_id(key.id)) return std::unexpected("invalid data key id '" + key.id + "'");
  return aead_seal(key.bytes, associated_data(where, key.id), plaintext);
}

std::expected<std::string, std::string> open_value(const data_key& key, const binding& where, std::string_view sealed) {
  auto plain = aead_open(key.bytes, associated_data(where, key.id), sealed);
  if (!plain) return std::unexpected("the encrypted value " + plain.error());
  return plain;
}

std::expected<token, std::string> parse_token(std::string_view text) {
  if (!text.starts_with(token_prefix)) {
    if (looks_like_token(text)) return std::unexpected(std::string("unknown encrypted-field format version"));
    return std::unexpected(std::string("not an encrypted field"));
  }
  text.remove_prefix(token_prefix.size());
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::unexpected(std::string("encrypted field without a key id"));
  token t;
  t.key_id = text.substr(0, colon);
  if (!valid_key_id(t.key_id)) return std::unexpected(std::string("encrypted field with an invalid key id"));
  if (!decode_base64_into(text.substr(colon + 1), t.sealed) || t.sealed.size() < nonce_bytes + tag_bytes)
    return std::unexpected(std::string("encrypted field is not a sealed value (bad base64 or too short)"));
  return t;
}

std::expected<std::string, std::string> open(const data_key& key, const binding& where, const token& t) {
  if (t.key_id != key.id) return std::unexpected("sealed under key " + std::string(t.key_id) + ", not " + key.id);
  auto plain = aead_open(key.bytes, associated_data(where, key.id), t.sealed);
  if (!plain) return std::unexpected("the encrypted field " + plain.error());
  return plain;
}

}  // namespace kgw::policies::encryption

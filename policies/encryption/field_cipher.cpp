// AES-256-GCM seal/open of one field: see policies/encryption/field_cipher.h. OpenSSL's EVP is
// the implementation (constant-time, hardware AES where the CPU has it); the cipher is fetched
// once and each thread reuses one context, so a seal costs no allocation but its output.
#include "policies/encryption/field_cipher.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
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

// Whether two keys are equal, in time independent of where they differ: the words are XORed and
// ORed together without an early exit. (CRYPTO_memcmp does the same a byte at a time, and this
// runs for every field opened: it was ~2% of a decrypting gateway's CPU.)
bool same_key(const std::array<unsigned char, key_bytes>& a, const std::array<unsigned char, key_bytes>& b) {
  std::uint64_t diff = 0;
  for (std::size_t i = 0; i < key_bytes; i += sizeof diff) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, sizeof x);
    std::memcpy(&y, b.data() + i, sizeof y);
    diff |= x ^ y;
  }
  return diff == 0;
}

EVP_CIPHER_CTX* keyed(const std::array<unsigned char, key_bytes>& key, bool encrypt) {
  thread_local std::array<keyed_context, 8> cache;
  thread_local std::size_t next = 0;
  for (auto& c : cache)
    if (c.used && c.encrypting == encrypt && same_key(c.key, key)) return c.ctx.get();
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

// The associated data of a field, built in a per-thread buffer (valid until the next call), in
// one pass: it is rebuilt for every field opened, and appending its nine pieces one by one was
// ~5% of the instructions of opening a record's two fields.
const std::string& associated_data(const binding& where, std::string_view key_id) {
  thread_local std::string aad;
  constexpr std::string_view head = "kgw1 field";
  const std::string_view parts[] = {where.topic, where.field, key_id};
  std::size_t size = head.size() + 4 * std::size(parts) + 4 + (where.record_key ? where.record_key->size() : 0);
  for (auto part : parts) size += part.size();
  auto put_length = [](char* p, std::uint32_t n) {
    p[0] = static_cast<char>(n >> 24), p[1] = static_cast<char>(n >> 16), p[2] = static_cast<char>(n >> 8);
    p[3] = static_cast<char>(n);
    return p + 4;
  };
  aad.resize_and_overwrite(size, [&](char* p, std::size_t) {
    p = std::copy(head.begin(), head.end(), p);
    for (auto part : parts) p = std::copy(part.begin(), part.end(), put_length(p, static_cast<std::uint32_t>(part.size())));
    if (where.record_key) {
      std::copy(where.record_key->begin(), where.record_key->end(),
                put_length(p, static_cast<std::uint32_t>(where.record_key->size())));
    } else {
      put_length(p, 0xffffffffu);  // no key, which an empty key (length 0) is not
    }
    return size;
  });
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
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t full = in.size() / 4 - 1;  // every quad but the last, which may hold padding
  int bad = 0;  // any invalid character makes it negative
  out.resize_and_overwrite(n, [&](char* dst, std::size_t) {
    for (std::size_t q = 0; q < full; ++q, p += 4, dst += 3) {
      const int a = base64_values[p[0]], b = base64_values[p[1]], c = base64_values[p[2]], d = base64_values[p[3]];
      bad |= a | b | c | d;
      const unsigned v = (static_cast<unsigned>(a & 63) << 18) | (static_cast<unsigned>(b & 63) << 12) |
                         (static_cast<unsigned>(c & 63) << 6) | static_cast<unsigned>(d & 63);
      dst[0] = static_cast<char>(v >> 16);
      dst[1] = static_cast<char>((v >> 8) & 0xff);
      dst[2] = static_cast<char>(v & 0xff);
    }
    const int a = base64_values[p[0]], b = base64_values[p[1]];
    const int c = pad == 2 ? 0 : base64_values[p[2]], d = pad >= 1 ? 0 : base64_values[p[3]];
    bad |= a | b | c | d;
    // Padding bits must be zero (a canonical encoding only).
    if ((pad == 1 && (c & 3) != 0) || (pad == 2 && (b & 15) != 0)) bad = -1;
    const unsigned v = (static_cast<unsigned>(a & 63) << 18) | (static_cast<unsigned>(b & 63) << 12) |
                       (static_cast<unsigned>(c & 63) << 6) | static_cast<unsigned>(d & 63);
    dst[0] = static_cast<char>(v >> 16);
    if (pad < 2) dst[1] = static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) dst[2] = static_cast<char>(v & 0xff);
    return n;
  });
  return bad >= 0;
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
  const char length[4] = {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
                          static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  out.append(length, 4).append(part);
}

namespace {
constexpr std::array<bool, 256> key_id_chars = [] {
  std::array<bool, 256> ok{};
  for (unsigned char c = 0; c < 128; ++c)
    ok[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  return ok;
}();
}  // namespace

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!key_id_chars[static_cast<unsigned char>(c)]) return false;
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

namespace {

// Appends the plaintext of nonce | ciphertext | tag to out; false (out as it was, nothing of an
// unauthenticated plaintext left in its spare capacity) when it does not authenticate.
bool open_append(const std::array<unsigned char, key_bytes>& key, std::string_view aad, std::string_view sealed,
                 std::string& out) {
  if (sealed.size() < nonce_bytes + tag_bytes) return false;
  const std::size_t length = sealed.size() - nonce_bytes - tag_bytes;
  const auto* in = bytes(sealed);
  EVP_CIPHER_CTX* ctx = keyed(key, false);
  if (!ctx) return false;
  // The tag as a parameter (read, not written, by the provider): OpenSSL 3's ctrl call for it
  // builds the same parameter and looks it up again on every field.
  OSSL_PARAM tag[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                         const_cast<unsigned char*>(in + nonce_bytes + length), tag_bytes),
                       OSSL_PARAM_construct_end()};
  const std::size_t at = out.size();
  bool ok = false;
  out.resize_and_overwrite(at + length, [&](char* buf, std::size_t) {
    auto* dst = reinterpret_cast<unsigned char*>(buf + at);
    int n = 0, tail = 0;
    ok = EVP_DecryptInit_ex2(ctx, nullptr, nullptr, in, nullptr) == 1 &&
         EVP_DecryptUpdate(ctx, nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx, dst, &n, in + nonce_bytes, static_cast<int>(length)) == 1 &&
         EVP_CIPHER_CTX_set_params(ctx, tag) == 1 && EVP_DecryptFinal_ex(ctx, dst + n, &tail) == 1;
    if (!ok) OPENSSL_cleanse(dst, length);  // never hand back what was decrypted before the tag said no
    return at + length;
  });
  if (!ok) out.resize(at);
  return ok;
}

// "kgw1:<key id>:<base64>" taken apart without decoding; why: what is wrong with it.
bool split_token(std::string_view text, std::string_view& key_id, std::string_view& encoded, const char*& why) {
  const auto id = token_key_id(text);
  if (!id) {
    why = text.starts_with(token_prefix) ? "encrypted field without a key id"
          : looks_like_token(text)       ? "unknown encrypted-field format version"
                                         : "not an encrypted field";
    return false;
  }
  if (!valid_key_id(*id)) {
    why = "encrypted field with an invalid key id";
    return false;
  }
  key_id = *id;
  encoded = text.substr(token_prefix.size() + id->size() + 1);
  return true;
}
const char* const not_sealed = "encrypted field is not a sealed value (bad base64 or too short)";

}  // namespace

std::expected<std::string, std::string> aead_open(const std::array<unsigned char, key_bytes>& key, std::string_view aad,
                                                  std::string_view sealed) {
  if (sealed.size() < nonce_bytes + tag_bytes) return std::unexpected(std::string("sealed value too short"));
  std::string plain;
  if (!open_append(key, aad, sealed, plain))
    return std::unexpected(std::string("does not authenticate (tampered, moved or wrong key)"));
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
  token t;
  std::string_view encoded;
  const char* why = nullptr;
  if (!split_token(text, t.key_id, encoded, why)) return std::unexpected(std::string(why));
  if (!decode_base64_into(encoded, t.sealed) || t.sealed.size() < nonce_bytes + tag_bytes)
    return std::unexpected(std::string(not_sealed));
  return t;
}

std::expected<std::string, std::string> open(const data_key& key, const binding& where, const token& t) {
  if (t.key_id != key.id) return std::unexpected("sealed under key " + std::string(t.key_id) + ", not " + key.id);
  auto plain = aead_open(key.bytes, associated_data(where, key.id), t.sealed);
  if (!plain) return std::unexpected("the encrypted field " + plain.error());
  return plain;
}

std::optional<std::string_view> token_key_id(std::string_view text) {
  if (!text.starts_with(token_prefix)) return std::nullopt;
  text.remove_prefix(token_prefix.size());
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return text.substr(0, colon);
}

bool open_token_append(const data_key& key, const binding& where, std::string_view text, std::string& out) {
  // "kgw1:<key.id>:": the id needs no validating here, it must be key.id, which is valid.
  if (!text.starts_with(token_prefix)) return false;
  text.remove_prefix(token_prefix.size());
  if (!text.starts_with(key.id) || text.size() <= key.id.size() || text[key.id.size()] != ':') return false;
  const std::string_view encoded = text.substr(key.id.size() + 1);
  thread_local std::string sealed;  // ciphertext only: nothing secret stays here
  return decode_base64_into(encoded, sealed) &&
         open_append(key.bytes, associated_data(where, key.id), sealed, out);
}

}  // namespace kgw::policies::encryption

// AES-256-GCM seal/open of one field: see policies/encryption/field_cipher.h. OpenSSL's EVP is
// the implementation (constant-time, hardware AES where the CPU has it); the cipher is fetched
// once and each thread reuses one context, so a seal costs no allocation but its output.
#include "policies/encryption/field_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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

EVP_CIPHER_CTX* thread_context() {
  thread_local const std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                                         &EVP_CIPHER_CTX_free);
  return ctx.get();
}

void put_part(std::string& out, std::string_view part) {
  const auto n = static_cast<std::uint32_t>(part.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(part);
}

std::string associated_data(const binding& where, std::string_view key_id) {
  std::string aad = "kgw1 field";
  put_part(aad, where.topic);
  put_part(aad, where.field);
  put_part(aad, key_id);
  if (where.record_key) {
    put_part(aad, *where.record_key);
  } else {
    aad.append("\xff\xff\xff\xff", 4);
  }
  return aad;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

// EVP_DecodeBlock alone accepts whitespace and cannot say how much of its output is padding.
std::optional<std::string> decode_base64(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  for (std::size_t i = 0; i < in.size() - pad; ++i)
    if (!base64_char(in[i])) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(in), static_cast<int>(in.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  return out;
}

std::string encode_base64(std::string_view in) {
  std::string out((in.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(in), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
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

std::expected<std::string, std::string> aead_seal(const std::array<unsigned char, key_bytes>& key, std::string_view aad,
                                                  std::string_view plaintext) {
  if (plaintext.size() > (std::size_t{1} << 30)) return std::unexpected(std::string("value too large to encrypt"));
  std::string sealed(nonce_bytes + plaintext.size() + tag_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  if (RAND_bytes(out, static_cast<int>(nonce_bytes)) != 1) return std::unexpected(std::string("no random nonce"));
  EVP_CIPHER_CTX* ctx = thread_context();
  int n = 0, tail = 0;
  const bool ok = ctx && aes_256_gcm() && EVP_EncryptInit_ex2(ctx, aes_256_gcm(), key.data(), out, nullptr) == 1 &&
                  EVP_EncryptUpdate(ctx, nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1 &&
                  EVP_EncryptUpdate(ctx, out + nonce_bytes, &n, bytes(plaintext), static_cast<int>(plaintext.size())) == 1 &&
                  EVP_EncryptFinal_ex(ctx, out + nonce_bytes + n, &tail) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                                      out + nonce_bytes + plaintext.size()) == 1;
  if (!ok) return std::unexpected(std::string("AES-256-GCM encryption failed"));
  return sealed;
}

std::expected<std::string, std::string> aead_open(const std::array<unsigned char, key_bytes>& key, std::string_view aad,
                                                  std::string_view sealed) {
  if (sealed.size() < nonce_bytes + tag_bytes) return std::unexpected(std::string("sealed value too short"));
  const std::size_t length = sealed.size() - nonce_bytes - tag_bytes;
  const auto* in = bytes(sealed);
  std::string plain(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  // GCM's tag is set before the final call and checked by it; the context is not const about it.
  unsigned char tag[tag_bytes];
  std::copy(in + nonce_bytes + length, in + nonce_bytes + length + tag_bytes, tag);
  EVP_CIPHER_CTX* ctx = thread_context();
  int n = 0, tail = 0;
  const bool ok = ctx && aes_256_gcm() && EVP_DecryptInit_ex2(ctx, aes_256_gcm(), key.data(), in, nullptr) == 1 &&
                  EVP_DecryptUpdate(ctx, nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1 &&
                  EVP_DecryptUpdate(ctx, out, &n, in + nonce_bytes, static_cast<int>(length)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes), tag) == 1 &&
                  EVP_DecryptFinal_ex(ctx, out + n, &tail) == 1;
  if (!ok) {
    // Never hand back what was decrypted before the tag said no.
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::unexpected(std::string("does not authenticate (tampered, moved or wrong key)"));
  }
  return plain;
}

std::expected<std::string, std::string> seal(const data_key& key, const binding& where, std::string_view plaintext) {
  if (!valid_key_id(key.id)) return std::unexpected("invalid data key id '" + key.id + "'");
  auto sealed = aead_seal(key.bytes, associated_data(where, key.id), plaintext);
  if (!sealed) return sealed;
  std::string text(token_prefix);
  text += key.id;
  text += ':';
  const std::size_t at = text.size();
  text.resize(at + (sealed->size() + 2) / 3 * 4);
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data() + at), bytes(*sealed), static_cast<int>(sealed->size()));
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
  auto sealed = decode_base64(text.substr(colon + 1));
  if (!sealed || sealed->size() < nonce_bytes + tag_bytes)
    return std::unexpected(std::string("encrypted field is not a sealed value (bad base64 or too short)"));
  t.sealed = std::move(*sealed);
  return t;
}

std::expected<std::string, std::string> open(const data_key& key, const binding& where, const token& t) {
  if (t.key_id != key.id) return std::unexpected("sealed under key " + std::string(t.key_id) + ", not " + key.id);
  auto plain = aead_open(key.bytes, associated_data(where, key.id), t.sealed);
  if (!plain) return std::unexpected("the encrypted field " + plain.error());
  return plain;
}

}  // namespace kgw::policies::encryption

#pragma once
// The cryptography of one encrypted field (issue 11's foundation): AES-256-GCM through OpenSSL
// EVP, a fresh random 96-bit nonce per seal, and associated data binding the ciphertext to its
// place: the topic, the field's path in the record, the key id and the record's key (when it has
// one). A token copied to another field, another keyed record or another topic, a flipped bit or
// a wrong key id fails to open; nothing that fails to open is ever returned as plaintext.
//
// Token (a JSON string where the field was): "kgw1:<key id>:<base64 of nonce | ciphertext | tag>"
//   kgw1     the format version (readers refuse versions they do not know)
//   key id   1-64 of [A-Za-z0-9._-]: which data key sealed it (the key topic holds it wrapped)
//   base64   RFC 4648 with padding: 12-byte nonce, the ciphertext, the 16-byte GCM tag
// Associated data (never stored: both sides rebuild it): "kgw1 field" followed by topic, field
// path, key id and record key, each as a 4-byte big-endian length and its bytes (record key:
// length 0xFFFFFFFF when the record has none, so "no key" and "empty key" differ).
//
// Random nonces: GCM's bound is 2^32 seals per key; the key manager rotates data keys long
// before (a use limit), so a nonce never repeats under one key in practice.
// Threading: pure functions; each thread keeps its own cipher context.
#include <array>
#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace kgw::policies::encryption {

inline constexpr std::string_view token_prefix = "kgw1:";
inline constexpr std::size_t key_bytes = 32, nonce_bytes = 12, tag_bytes = 16;

struct data_key {
  std::string id;  // 1-64 of [A-Za-z0-9._-]
  std::array<unsigned char, key_bytes> bytes{};
};

// Where a ciphertext belongs.
struct binding {
  std::string_view topic;
  std::string_view field;                      // the field's path in the record ("address.street")
  std::optional<std::string_view> record_key;  // the record's key; none for a null key
};

// A token taken apart (views into the token text, bytes decoded).
struct token {
  std::string_view key_id;
  std::string sealed;  // nonce | ciphertext | tag
};

// The AEAD underneath (also what the local KMS wraps data keys with): nonce | ciphertext | tag
// of `plaintext` under `key` with associated data `aad`, and back. open: the plaintext, or why
// not (nothing of an unauthenticated ciphertext is returned).
std::expected<std::string, std::string> aead_seal(const std::array<unsigned char, key_bytes>& key, std::string_view aad,
                                                  std::string_view plaintext);
std::expected<std::string, std::string> aead_open(const std::array<unsigned char, key_bytes>& key, std::string_view aad,
                                                  std::string_view sealed);

// RFC 4648 base64 with padding, strictly (no whitespace, no missing padding); nullopt when
// `text` is not that.
std::optional<std::string> decode_base64(std::string_view text);
std::string encode_base64(std::string_view bytes);

// Appends `part` as a 4-byte big-endian length and its bytes: how every associated-data and
// tag input here joins its parts, so no two different part lists make the same bytes.
void append_part(std::string& out, std::string_view part);

bool valid_key_id(std::string_view id);
// Whether `text` claims to be a token of any version ("kgw" + digits + ':'), so a reader can tell
// an unknown version from plaintext.
bool looks_like_token(std::string_view text);

std::expected<std::string, std::string> seal(const data_key& key, const binding& where, std::string_view plaintext);

// A whole encrypted value: the record's value is nonce | ciphertext | tag (bytes, no base64) and
// the record carries header `value_header` = "kgw1:<key id>" naming the format and the key. The
// binding's field is "" (no selector is empty, so a value and a field never share associated data).
inline constexpr std::string_view value_header = "kgw-encryption";
std::expected<std::string, std::string> seal_value(const data_key& key, const binding& where, std::string_view plaintext);
std::expected<std::string, std::string> open_value(const data_key& key, const binding& where, std::string_view sealed);
std::expected<token, std::string> parse_token(std::string_view text);
// The plaintext, or why not: the caller fails closed (drops the record or masks the field).
std::expected<std::string, std::string> open(const data_key& key, const binding& where, const token& t);

// The fetch path's form of parse_token + open, allocating nothing once warm: the key id a token
// names (nullopt: not a token of this format), then its plaintext appended to `out` (false, out
// as it was: not sealed under `key`, bad base64, or it does not authenticate). The id is not
// validated (it may even be empty): it is only looked up, the key manager refuses an invalid one
// before asking its store, and a token whose id is not the key's does not open.
std::optional<std::string_view> token_key_id(std::string_view text);
bool open_token_append(const data_key& key, const binding& where, std::string_view text, std::string& out);

}  // namespace kgw::policies::encryption

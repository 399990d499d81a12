#pragma once
// One mask function (mask_rule) ready to apply: to a node of a parsed JSON key or value,
// or to raw bytes (a whole key, a header value).
//
// What each function makes of a value, per JSON type (the README has the same table). No
// function ever emits source text other than the part of one string (or number) it keeps:
//   redact   the string `replacement` ("***"), for every type
//   partial  a string: keep_domain gives replacement + "@domain" (ada@example.com ->
//            ***@example.com; without '@', the bare replacement); keep_last N gives replacement
//            + the last N code points (N or fewer: the bare replacement, so short values are not
//            revealed); neither: the bare replacement. Always of the unescaped content.
//            A number: the same over its text (4111111111111111 -> "***1111"; no '@', so
//            keep_domain gives the bare replacement).
//            true/false, null, an object or an array: the bare replacement (their text is
//            syntax or other fields' data, never content to keep).
//            The result is always a JSON string.
//   hash     "<64 lowercase hex>" = HMAC-SHA-256(hash_key, x): x is a string's unescaped
//            content, the JSON text as written for any other type (a digest, never the text);
//            over the raw bytes of a key or header. Equal inputs give equal tokens, so masked
//            columns still join.
//   null     JSON null, for every type (a null key, a null header value)
//   remove   the object member (or array element) disappears, whatever its type; a header is
//            removed; a whole key becomes null (a record always has a key slot)
// Threading: immutable after compile; the apply functions are const and use per-thread scratch.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "policies/masking/mask_config.h"
#include "policies/json/json_doc.h"

namespace kgw::policies::masking {

// When several masks hit the same value, the one that reveals the least wins:
// remove > null > redact > hash > partial.
int strength(mask_function f);
const char* name_of(mask_function f);  // "redact", "partial", ...

class field_mask {
 public:
  // Errors: "mask 'hash' needs a hash_key" (without a location; the caller adds it).
  static std::expected<field_mask, std::string> compile(const mask_rule& rule, const std::string& hash_key);

  mask_function function() const { return fn_; }
  int priority() const { return strength(fn_); }

  // Appends the JSON text that replaces node (every function but remove; remove writes "null",
  // for the root). false: the token could not be computed (OpenSSL failure); fail closed.
  bool mask_json(const json::json_doc& doc, std::uint32_t node, std::string& out) const;

  enum class bytes_result { value, null, remove, failed };
  // For raw bytes: `value` means the masked bytes were appended to out.
  bytes_result mask_bytes(std::string_view in, std::string& out) const;

  // What the mask does, in plain words with an example computed by this very mask:
  // "partially masked, keeps the domain (ada@example.com -> ***@example.com)".
  std::string describe() const;

 private:
  std::string_view kept_part(std::string_view plain) const;  // partial: what stays visible

  mask_function fn_ = mask_function::redact;
  std::string replacement_;
  std::string replacement_json_;  // redact: replacement_ as a JSON string literal
  int keep_last_ = 0;
  bool keep_domain_ = false;
  std::string hash_key_;
};

}  // namespace kgw::policies::masking

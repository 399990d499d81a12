#pragma once
// One mask function (config::mask_rule) ready to apply: to a node of a parsed JSON key or value,
// or to raw bytes (a whole key, a header value).
//
// What each function makes of a value:
//   redact   the string `replacement`, whatever the value was ("***")
//   partial  keep_domain: replacement + "@domain" (ada@example.com -> ***@example.com); a value
//            without '@' becomes the bare replacement.
//            keep_last N: replacement + the last N characters (code points); a value of N
//            characters or fewer becomes the bare replacement, so short values are not revealed.
//            Neither: the bare replacement. Non-string JSON values are taken as their JSON text
//            (12345678 -> "***5678"); the result is always a string.
//   hash     HMAC-SHA-256(hash_key, content) as 64 lowercase hex characters: over a string's
//            unescaped content, over the JSON text of any other value, over the raw bytes of a
//            key or header. Equal inputs give equal tokens, so masked columns still join.
//   null     JSON null (a null key, a null header value)
//   remove   the object member (or array element) disappears; a header is removed; a whole key
//            becomes null (a record always has a key slot)
// Threading: immutable after compile; the apply functions are const and use per-thread scratch.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "config/policy_config.h"
#include "policies/json/json_doc.h"

namespace kgw::policies::masking {

// When several masks hit the same value, the one that reveals the least wins:
// remove > null > redact > hash > partial.
int strength(config::mask_function f);
const char* name_of(config::mask_function f);  // "redact", "partial", ...

class field_mask {
 public:
  // Errors: "mask 'hash' needs a hash_key" (without a location; the caller adds it).
  static std::expected<field_mask, std::string> compile(const config::mask_rule& rule, const std::string& hash_key);

  config::mask_function function() const { return fn_; }
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

  config::mask_function fn_ = config::mask_function::redact;
  std::string replacement_;
  std::string replacement_json_;  // redact: replacement_ as a JSON string literal
  int keep_last_ = 0;
  bool keep_domain_ = false;
  std::string hash_key_;
};

}  // namespace kgw::policies::masking

#include "policies/masking/field_mask.h"

#include <optional>

#include "policies/json/json_text.h"
#include "policies/masking/hmac_sha256.h"

namespace kgw::policies::masking {


int strength(mask_function f) {
  switch (f) {
    case mask_function::remove: return 5;
    case mask_function::null: return 4;
    case mask_function::redact: return 3;
    case mask_function::hash: return 2;
    case mask_function::partial: return 1;
  }
  return 0;
}

const char* name_of(mask_function f) {
  switch (f) {
    case mask_function::redact: return "redact";
    case mask_function::partial: return "partial";
    case mask_function::hash: return "hash";
    case mask_function::null: return "null";
    case mask_function::remove: return "remove";
  }
  return "?";
}

namespace {

// Unescaped string content (or a non-string's JSON text) of a node, without copying when the
// source text can serve as it is. Only `hash` may see a container's text: it emits a digest of
// it, never the text itself.
std::string_view plain_content(const json::json_doc& doc, std::uint32_t node, std::string& scratch) {
  if (doc.type(node) != json::json_type::string) return doc.text(node);
  if (!doc.string_escaped(node)) return doc.string_raw(node);
  scratch.clear();
  doc.string_value(node, scratch);
  return scratch;
}

// What `partial` may reveal part of: a string's unescaped content, or a number's own text (a
// card number stored as a number is still one value). Booleans, null, objects and arrays have
// no content to keep part of: their text is syntax and, for containers, other fields' data
// (an object's text after its last '@' is its neighbours' keys and values).
std::optional<std::string_view> partial_content(const json::json_doc& doc, std::uint32_t node, std::string& scratch) {
  switch (doc.type(node)) {
    case json::json_type::string: return plain_content(doc, node, scratch);
    case json::json_type::number: return doc.text(node);
    default: return std::nullopt;
  }
}

std::string& scratch_buffer() {
  thread_local std::string s;
  return s;
}

}  // namespace

std::expected<field_mask, std::string> field_mask::compile(const mask_rule& rule, const std::string& hash_key) {
  field_mask m;
  m.fn_ = rule.function;
  m.replacement_ = rule.replacement;
  json::quote_append(m.replacement_, m.replacement_json_);
  m.keep_last_ = rule.keep_last < 0 ? 0 : rule.keep_last;
  m.keep_domain_ = rule.keep_domain;
  if (m.fn_ == mask_function::hash) {
    if (hash_key.empty()) return std::unexpected(std::string("mask 'hash' needs a hash_key"));
    m.hash_key_ = hash_key;
    char probe[64];
    if (!hmac_sha256_hex(m.hash_key_, "probe", probe))
      return std::unexpected(std::string("mask 'hash': HMAC-SHA-256 is not available from OpenSSL"));
  }
  return m;
}

std::string_view field_mask::kept_part(std::string_view plain) const {
  if (keep_domain_) {
    auto at = plain.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : plain.substr(at);
  }
  if (keep_last_ > 0) {
    auto n = static_cast<std::size_t>(keep_last_);
    if (json::utf8_length(plain) <= n) return {};
    return json::utf8_suffix(plain, n);
  }
  return {};
}

bool field_mask::mask_json(const json::json_doc& doc, std::uint32_t node, std::string& out) const {
  switch (fn_) {
    case mask_function::redact: out += replacement_json_; return true;
    case mask_function::null:
    case mask_function::remove: out += "null"; return true;
    case mask_function::partial: {
      auto content = partial_content(doc, node, scratch_buffer());
      out += '"';
      json::escape_append(replacement_, out);
      if (content) json::escape_append(kept_part(*content), out);
      out += '"';
      return true;
    }
    case mask_function::hash: {
      std::string_view plain = plain_content(doc, node, scratch_buffer());
      char hex[64];
      if (!hmac_sha256_hex(hash_key_, plain, hex)) return false;
      out += '"';
      out.append(hex, sizeof hex);
      out += '"';
      return true;
    }
  }
  return false;
}

field_mask::bytes_result field_mask::mask_bytes(std::string_view in, std::string& out) const {
  switch (fn_) {
    case mask_function::redact: out += replacement_; return bytes_result::value;
    case mask_function::null: return bytes_result::null;
    case mask_function::remove: return bytes_result::remove;
    case mask_function::partial:
      out += replacement_;
      out += kept_part(in);
      return bytes_result::value;
    case mask_function::hash: {
      char hex[64];
      if (!hmac_sha256_hex(hash_key_, in, hex)) return bytes_result::failed;
      out.append(hex, sizeof hex);
      return bytes_result::value;
    }
  }
  return bytes_result::failed;
}

std::string field_mask::describe() const {
  switch (fn_) {
    case mask_function::redact: return "replaced by " + replacement_json_;
    case mask_function::null: return "set to null";
    case mask_function::remove: return "removed";
    case mask_function::hash: return "replaced by a stable HMAC-SHA-256 token";
    case mask_function::partial: {
      std::string example, out;
      std::string what;
      if (keep_domain_) {
        example = "ada@example.com";
        what = "keeps the domain";
      } else if (keep_last_ > 0) {
        example = "+1-555-0100";
        what = "keeps the last " + std::to_string(keep_last_) + (keep_last_ == 1 ? " character" : " characters");
      } else {
        return "partially masked, keeps nothing (replaced by " + replacement_json_ + ")";
      }
      mask_bytes(example, out);
      return "partially masked, " + what + " (" + example + " -> " + out + ")";
    }
  }
  return "?";
}

}  // namespace kgw::policies::masking

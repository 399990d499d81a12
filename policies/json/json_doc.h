#pragma once
// A validating JSON parser (RFC 8259) for record keys and values that produces a flat tape: one
// 32-byte node per value, in document order, holding the value's byte span in the source, its
// member key (for object members) and parent/next/prev links. No heap node per value and no
// allocation once the tape has grown to the working size: parse() reuses it. Nothing is
// unescaped or converted until someone asks.
//
// What is accepted (and why):
// - Exactly one JSON value with optional whitespace around it (any top-level value, per
//   RFC 8259); anything after it is invalid ("trailing garbage").
// - Strings must be valid UTF-8 (checked, including overlongs and encoded surrogates) and contain
//   no raw control characters; escapes are the JSON ones. Lone surrogate escapes (\uD800) are
//   accepted, as Jackson, JavaScript and Python accept them; unescaping yields U+FFFD for them,
//   so output built from this text is always valid UTF-8.
// - Numbers follow the JSON grammar exactly (no leading zeros, no '+', no '.5', no NaN).
// - Nesting deeper than max_depth (128) containers is invalid, so a hostile record cannot
//   exhaust the stack.
// - A byte order mark is not accepted (RFC 8259 forbids producing one).
// - Duplicate member names are accepted (the RFC allows it); see selector_match.h for how
//   selectors treat them.
// Threading: one document per thread (reuse a thread_local); const methods are safe to share.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/json/json_text.h"

namespace kgw::policies::json {

enum class json_type : std::uint8_t { null, boolean, number, string, array, object };

const char* name_of(json_type type);  // "null", "boolean", ...

inline constexpr std::uint32_t npos = 0xFFFFFFFFu;

struct json_node {
  static constexpr std::uint8_t escaped_flag = 1;      // the string value contains escapes
  static constexpr std::uint8_t key_escaped_flag = 2;  // the member key contains escapes
  static constexpr std::uint8_t true_flag = 4;         // boolean true

  json_type type = json_type::null;
  std::uint8_t flags = 0;
  std::uint16_t depth = 0;       // containers enclosing this node
  std::uint32_t begin = 0;       // value text [begin, end) in the source; strings with their quotes
  std::uint32_t end = 0;
  std::uint32_t key_begin = 0;   // member key content [key_begin, key_end) without quotes, escaped;
  std::uint32_t key_end = 0;     //   both 0 when the node is not an object member
  std::uint32_t parent = npos;
  std::uint32_t next = npos;     // next sibling
  std::uint32_t prev = npos;     // previous sibling
};
static_assert(sizeof(json_node) == 32);

struct json_error {
  std::size_t offset = 0;
  const char* message = "";  // static text; no allocation on the invalid-record path
};

class json_doc {
 public:
  static constexpr int max_depth = 128;

  // Parses text (which must outlive the document's use); where and why it is not valid JSON.
  std::expected<void, json_error> parse(std::string_view text);
  bool valid() const { return valid_; }

  std::string_view source() const { return src_; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(nodes_.size()); }
  const json_node& node(std::uint32_t i) const { return nodes_[i]; }
  static constexpr std::uint32_t root() { return 0; }

  json_type type(std::uint32_t i) const { return nodes_[i].type; }
  // The node's JSON text, exactly as in the source.
  std::string_view text(std::uint32_t i) const {
    return src_.substr(nodes_[i].begin, nodes_[i].end - nodes_[i].begin);
  }
  bool is_member(std::uint32_t i) const { return nodes_[i].key_end != 0; }
  // The member key without quotes, escapes still in place.
  std::string_view key_raw(std::uint32_t i) const {
    return src_.substr(nodes_[i].key_begin, nodes_[i].key_end - nodes_[i].key_begin);
  }
  bool key_equals(std::uint32_t i, std::string_view plain) const;
  // A string node's content without quotes, escapes still in place.
  std::string_view string_raw(std::uint32_t i) const {
    return src_.substr(nodes_[i].begin + 1, nodes_[i].end - nodes_[i].begin - 2);
  }
  bool string_escaped(std::uint32_t i) const { return nodes_[i].flags & json_node::escaped_flag; }
  bool string_equals(std::uint32_t i, std::string_view plain) const;
  // Appends the unescaped string content to out.
  void string_value(std::uint32_t i, std::string& out) const;
  bool boolean(std::uint32_t i) const { return nodes_[i].flags & json_node::true_flag; }

  // First child of a container, npos when empty or not a container (children follow their
  // parent directly on the tape).
  std::uint32_t first_child(std::uint32_t i) const {
    return i + 1 < nodes_.size() && nodes_[i + 1].parent == i ? i + 1 : npos;
  }
  // The last member named key (the one most parsers keep for duplicates), npos if none.
  std::uint32_t find_member(std::uint32_t object, std::string_view key) const;
  std::uint32_t element(std::uint32_t array, std::uint32_t index) const;

 private:
  friend class json_parser;
  std::string_view src_;
  std::vector<json_node> nodes_;
  bool valid_ = false;
};

}  // namespace kgw::policies::json

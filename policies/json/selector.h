#pragma once
// Field selectors: which nodes of a JSON document a mask, a required field or a predicate
// reference points at. Parsed once when a policy is compiled; matched per record against the
// tape of policies/json/json_doc.h (see selector_match.h).
//
// Grammar:
//   selector := first ( '.' name | '[' index ']' )*
//   first    := name | '[' index ']'
//   name     := one or more of  A-Z a-z 0-9 _ $ -  or any byte >= 0x80 (UTF-8), not starting with '-'
//   index    := '*'                every element of an array (or every member value of an object)
//             | digits             the n-th element of an array (0-based)
//             | "text" | 'text'    the member with that name, for names the bare form cannot spell
//                                  ("a.b", "with space"); JSON escapes allowed
// Examples: email, address.street, items[*].card, items[0].card, ["e-mail"], meta["x.y"].z
// Names are compared with a member's unescaped key: `email` matches "em\u0061il".
// Threading: plain values.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "policies/row_filter/predicate_syntax.h"

namespace kgw::policies::json {

struct selector_step {
  enum class kind : std::uint8_t { name, index, any };
  kind what = kind::name;
  std::string name;          // kind::name: the member name, unescaped
  std::uint32_t index = 0;   // kind::index
};

struct selector {
  std::vector<selector_step> steps;  // empty: the document root
  std::string text;                  // as written
  bool has_wildcard() const {
    for (const auto& s : steps)
      if (s.what == selector_step::kind::any) return true;
    return false;
  }
};

// Parses the whole of text as a selector.
std::expected<selector, syntax_error> parse_selector(std::string_view text);

// Parses the selector starting at text[pos] and stops at the first byte that cannot continue it
// (the predicate parser uses this); pos is left after it. With continuation_only, text[pos] must
// be '.' or '[' (a selector that continues a prefix such as `value` or `key`). Offsets in
// errors are offsets into text.
std::expected<selector, syntax_error> parse_selector_at(std::string_view text, std::size_t& pos,
                                                        bool continuation_only = false);

// True for bytes that may appear in a bare name.
inline bool is_name_byte(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' || u == '$' ||
         u == '-' || u >= 0x80;
}

}  // namespace kgw::policies::json

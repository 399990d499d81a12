#pragma once
// JSON string text helpers shared by the record parser, the selector and predicate parsers and
// the masks: unescaping, escaping, comparing escaped string content by its unescaped bytes
// without materializing it, and UTF-8 code point arithmetic.
//
// "raw" below is the content of a JSON string literal between its quotes, escapes still in
// place. Lone surrogate escapes (\uD800 without its pair) are accepted, as Jackson, JavaScript
// and Python accept them; unescaping turns each into U+FFFD so the bytes we produce are always
// valid UTF-8.
// Threading: pure functions.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kgw::policies::json {

// Appends the unescaped form of raw to out. Returns std::string_view::npos on success, or the
// offset in raw of the backslash starting an invalid escape (out then holds a prefix).
std::size_t unescape_append(std::string_view raw, std::string& out);

// Appends plain as JSON string content (no quotes): '"', '\\' and control characters escaped;
// invalid UTF-8 bytes become U+FFFD, so the output is always a valid JSON string body.
void escape_append(std::string_view plain, std::string& out);

// Appends plain as a complete JSON string literal: '"' + escaped + '"'.
void quote_append(std::string_view plain, std::string& out);

// raw (escaped when `escaped`, otherwise plain bytes) equals plain after unescaping.
bool equals_unescaped(std::string_view raw, bool escaped, std::string_view plain);

// Orders two strings by the bytes of their unescaped content (memcmp order): <0, 0, >0.
int compare_unescaped(std::string_view a, bool a_escaped, std::string_view b, bool b_escaped);

// Number of code points in s (bytes that are not UTF-8 continuation bytes).
std::size_t utf8_length(std::string_view s);
// The last n code points of s (all of s when it has fewer).
std::string_view utf8_suffix(std::string_view s, std::size_t n);

// A JSON number's value: integral when written without fraction or exponent and in int64 range;
// otherwise the nearest double (out-of-range magnitudes become +-infinity or 0).
struct json_number {
  bool integral = false;
  std::int64_t i = 0;
  double d = 0;
};
// text must be a valid JSON number (a number node's text, or a predicate literal).
json_number parse_number(std::string_view text);

}  // namespace kgw::policies::json

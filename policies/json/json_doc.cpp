#include "policies/json/json_doc.h"

#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <limits>

namespace kgw::policies::json {

const char* name_of(json_type type) {
  switch (type) {
    case json_type::null: return "null";
    case json_type::boolean: return "boolean";
    case json_type::number: return "number";
    case json_type::string: return "string";
    case json_type::array: return "array";
    case json_type::object: return "object";
  }
  return "?";
}

namespace {

// Bytes a string scan can skip without looking closer: printable ASCII except '"' and '\\'.
constexpr std::array<bool, 256> plain_string_bytes = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

bool is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

// Recursive descent over the text, appending nodes in document order. Recursion depth is
// bounded by json_doc::max_depth.
class json_parser {
 public:
  json_parser(std::string_view text, std::vector<json_node>& nodes)
      : begin_(reinterpret_cast<const unsigned char*>(text.data())), p_(begin_), end_(begin_ + text.size()),
        nodes_(nodes) {}

  std::optional<json_error> run() {
    skip_ws();
    if (!value(npos, 0, 0, 0, 0)) return error_;
    skip_ws();
    if (p_ != end_) return json_error{offset(), "unexpected data after the JSON value"};
    return std::nullopt;
  }

 private:
  const unsigned char* begin_;
  const unsigned char* p_;
  const unsigned char* end_;
  std::vector<json_node>& nodes_;
  json_error error_;

  std::uint32_t offset() const { return static_cast<std::uint32_t>(p_ - begin_); }
  bool fail(const char* message) {
    error_ = {offset(), message};
    return false;
  }
  void skip_ws() {
    while (p_ < end_ && is_ws(*p_)) ++p_;
  }

  // Scans a string at p_ == '"'; leaves p_ after the closing quote. escaped: saw a backslash.
  bool string(bool& escaped) {
    const unsigned char* start = p_;
    auto unterminated = [&] {
      p_ = start;  // point at the string that never ends, not at the end of the text
      return fail("unterminated string");
    };
    ++p_;
    escaped = false;
    for (;;) {
#if defined(__SSE2__)
      // 16 bytes at a time while none is '"', '\\', a control or a non-ASCII byte (values are
      // mostly long plain runs; this is the parser's hottest loop).
      while (end_ - p_ >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
        const __m128i stop = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
            _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));  // signed: also every byte >= 0x80
        const int mask = _mm_movemask_epi8(stop);
        if (mask != 0) {
          p_ += __builtin_ctz(static_cast<unsigned>(mask));
          break;
        }
        p_ += 16;
      }
#endif
      while (p_ < end_ && plain_string_bytes[*p_]) ++p_;
      if (p_ >= end_) return unterminated();
      unsigned char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        escaped = true;
        if (p_ + 1 >= end_) return unterminated();
        switch (p_[1]) {
          case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p_ += 2;
            break;
          case 'u':
            if (end_ - p_ < 6 || !is_hex(p_[2]) || !is_hex(p_[3]) || !is_hex(p_[4]) || !is_hex(p_[5]))
              return fail("invalid \\u escape (needs four hex digits)");
            p_ += 6;
            break;
          default: return fail("invalid escape in string");
        }
        continue;
      }
      if (c < 0x20) return fail("control character in string (must be escaped)");
      if (!utf8()) return fail("invalid UTF-8 in string");
    }
  }

  // Validates one multi-byte UTF-8 sequence at p_ and steps over it.
  bool utf8() {
    unsigned char c = *p_;
    std::ptrdiff_t left = end_ - p_;
    auto cont = [&](int k) { return k < left && (p_[k] & 0xC0) == 0x80; };
    int len = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = cont(1) ? 2 : 0;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (left < 3) return false;
      unsigned char c1 = p_[1];
      if (c == 0xE0 && c1 < 0xA0) return false;  // overlong
      if (c == 0xED && c1 > 0x9F) return false;  // UTF-16 surrogate encoded in UTF-8
      len = cont(1) && cont(2) ? 3 : 0;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (left < 4) return false;
      unsigned char c1 = p_[1];
      if (c == 0xF0 && c1 < 0x90) return false;  // overlong
      if (c == 0xF4 && c1 > 0x8F) return false;  // above U+10FFFF
      len = cont(1) && cont(2) && cont(3) ? 4 : 0;
    }
    if (len == 0) return false;
    p_ += len;
    return true;
  }

  bool number() {
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ >= end_ || !is_digit(*p_)) return fail("invalid number");
    if (*p_ == '0') {
      ++p_;
      if (p_ < end_ && is_digit(*p_)) return fail("invalid number (leading zero)");
    } else {
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ >= end_ || !is_digit(*p_)) return fail("invalid number (digits expected after '.')");
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || !is_digit(*p_)) return fail("invalid number (digits expected in the exponent)");
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    return true;
  }

  bool literal(const char* word, std::size_t len) {
    if (static_cast<std::size_t>(end_ - p_) < len || std::memcmp(p_, word, len) != 0)
      return fail("invalid literal (expected a value)");
    p_ += len;
    return true;
  }

  std::uint32_t add(json_type type, std::uint32_t parent, int depth, std::uint32_t kb, std::uint32_t ke,
                    std::uint8_t flags) {
    json_node n;
    n.type = type;
    n.flags = flags;
    n.depth = static_cast<std::uint16_t>(depth);
    n.begin = offset();
    n.key_begin = kb;
    n.key_end = ke;
    n.parent = parent;
    nodes_.push_back(n);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }

  // One value at p_ (whitespace already skipped). depth: containers enclosing it.
  bool value(std::uint32_t parent, int depth, std::uint32_t kb, std::uint32_t ke, std::uint8_t key_flags) {
    if (p_ >= end_) return fail("expected a value");
    if (nodes_.size() >= std::numeric_limits<std::uint32_t>::max() - 1) return fail("document too large");
    switch (*p_) {
      case '{': return container<true>(add(json_type::object, parent, depth, kb, ke, key_flags), depth);
      case '[': return container<false>(add(json_type::array, parent, depth, kb, ke, key_flags), depth);
      case '"': {
        std::uint32_t i = add(json_type::string, parent, depth, kb, ke, key_flags);
        bool escaped;
        if (!string(escaped)) return false;
        nodes_[i].end = offset();
        if (escaped) nodes_[i].flags |= json_node::escaped_flag;
        return true;
      }
      case 't': {
        std::uint32_t i = add(json_type::boolean, parent, depth, kb, ke, key_flags | json_node::true_flag);
        if (!literal("true", 4)) return false;
        nodes_[i].end = offset();
        return true;
      }
      case 'f': {
        std::uint32_t i = add(json_type::boolean, parent, depth, kb, ke, key_flags);
        if (!literal("false", 5)) return false;
        nodes_[i].end = offset();
        return true;
      }
      case 'n': {
        std::uint32_t i = add(json_type::null, parent, depth, kb, ke, key_flags);
        if (!literal("null", 4)) return false;
        nodes_[i].end = offset();
        return true;
      }
      default: {
        if (*p_ != '-' && !is_digit(*p_)) return fail("expected a value");
        std::uint32_t i = add(json_type::number, parent, depth, kb, ke, key_flags);
        if (!number()) return false;
        nodes_[i].end = offset();
        return true;
      }
    }
  }

  // An object or an array (self: its node, already added; p_ at its '{' or '['): members or
  // elements separated by ',' up to the closing bracket, each linked to the one before it.
  template <bool Object>
  bool container(std::uint32_t self, int depth) {
    constexpr char close = Object ? '}' : ']';
    if (depth + 1 > json_doc::max_depth) return fail("nesting too deep");
    ++p_;
    skip_ws();
    std::uint32_t prev = npos;
    if (p_ < end_ && *p_ == close) {
      ++p_;
      nodes_[self].end = offset();
      return true;
    }
    for (;;) {
      const std::uint32_t child = static_cast<std::uint32_t>(nodes_.size());
      if constexpr (Object) {
        if (!member(self, depth, prev == npos)) return false;
      } else {
        if (!value(self, depth + 1, 0, 0, 0)) return false;
      }
      link(prev, child);
      prev = child;
      skip_ws();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        skip_ws();
        continue;
      }
      if (p_ < end_ && *p_ == close) {
        ++p_;
        nodes_[self].end = offset();
        return true;
      }
      return fail(Object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
    }
  }

  // One member of object `self`: "name": value (p_ where its name should start).
  bool member(std::uint32_t self, int depth, bool first) {
    if (p_ >= end_ || *p_ != '"') return fail(first ? "expected a member name or '}'" : "expected a member name");
    std::uint32_t kb = offset() + 1;
    bool key_escaped;
    if (!string(key_escaped)) return false;
    std::uint32_t ke = offset() - 1;
    skip_ws();
    if (p_ >= end_ || *p_ != ':') return fail("expected ':' after a member name");
    ++p_;
    skip_ws();
    // key_end is never 0 for a member (its key follows at least "{\""), which is how
    // is_member tells members apart.
    return value(self, depth + 1, kb, ke, key_escaped ? json_node::key_escaped_flag : 0);
  }

  void link(std::uint32_t prev, std::uint32_t child) {
    nodes_[child].prev = prev;
    if (prev != npos) nodes_[prev].next = child;
  }
};

std::expected<void, json_error> json_doc::parse(std::string_view text) {
  src_ = text;
  nodes_.clear();
  valid_ = false;
  if (text.size() >= std::numeric_limits<std::uint32_t>::max()) return std::unexpected(json_error{0, "document too large"});
  json_parser parser(text, nodes_);
  if (auto err = parser.run()) {
    nodes_.clear();
    return std::unexpected(*err);
  }
  valid_ = true;
  return {};
}

bool json_doc::key_equals(std::uint32_t i, std::string_view plain) const {
  const json_node& n = nodes_[i];
  if (!(n.flags & json_node::key_escaped_flag)) {
    return n.key_end - n.key_begin == plain.size() &&
           std::memcmp(src_.data() + n.key_begin, plain.data(), plain.size()) == 0;
  }
  return equals_unescaped(key_raw(i), true, plain);
}

bool json_doc::string_equals(std::uint32_t i, std::string_view plain) const {
  return equals_unescaped(string_raw(i), string_escaped(i), plain);
}

void json_doc::string_value(std::uint32_t i, std::string& out) const {
  std::string_view raw = string_raw(i);
  if (string_escaped(i))
    unescape_append(raw, out);
  else
    out.append(raw);
}

std::uint32_t json_doc::find_member(std::uint32_t object, std::string_view key) const {
  if (nodes_[object].type != json_type::object) return npos;
  std::uint32_t found = npos;
  for (std::uint32_t c = first_child(object); c != npos; c = nodes_[c].next)
    if (key_equals(c, key)) found = c;
  return found;
}

std::uint32_t json_doc::element(std::uint32_t array, std::uint32_t index) const {
  if (nodes_[array].type != json_type::array) return npos;
  std::uint32_t c = first_child(array);
  for (std::uint32_t k = 0; c != npos && k < index; ++k) c = nodes_[c].next;
  return c;
}

}  // namespace kgw::policies::json

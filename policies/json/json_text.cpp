#include "policies/json/json_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace kgw::policies::json {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 4 hex digits at s[i..i+4); -1 when they are not there.
long hex4(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) return -1;
  long v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    int h = hex_value(s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

int encode_utf8(std::uint32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Decodes the escape at raw[i] == '\\'. Writes its UTF-8 bytes to out and returns the escape's
// length in raw; 0 when invalid.
std::size_t decode_escape(std::string_view raw, std::size_t i, char* out, int& out_len) {
  if (i + 1 >= raw.size()) return 0;
  char c = raw[i + 1];
  out_len = 1;
  switch (c) {
    case '"': out[0] = '"'; return 2;
    case '\\': out[0] = '\\'; return 2;
    case '/': out[0] = '/'; return 2;
    case '\'': out[0] = '\''; return 2;  // only predicate literals reach here with \' (the JSON scanner rejects it)
    case 'b': out[0] = '\b'; return 2;
    case 'f': out[0] = '\f'; return 2;
    case 'n': out[0] = '\n'; return 2;
    case 'r': out[0] = '\r'; return 2;
    case 't': out[0] = '\t'; return 2;
    case 'u': break;
    default: return 0;
  }
  long cp = hex4(raw, i + 2);
  if (cp < 0) return 0;
  std::size_t used = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    // A high surrogate pairs with an immediately following low one; alone it is U+FFFD.
    if (i + 12 <= raw.size() && raw[i + 6] == '\\' && raw[i + 7] == 'u') {
      long lo = hex4(raw, i + 8);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        used = 12;
      } else {
        cp = 0xFFFD;
      }
    } else {
      cp = 0xFFFD;
    }
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    cp = 0xFFFD;
  }
  out_len = encode_utf8(static_cast<std::uint32_t>(cp), out);
  return used;
}

// Yields the unescaped bytes of a string one at a time (for comparisons without a buffer).
struct unescaped_reader {
  unescaped_reader(std::string_view r, bool e) : raw(r), escaped(e) {}

  std::string_view raw;
  bool escaped;
  std::size_t pos = 0;
  char buf[4] = {};
  int buf_len = 0, buf_pos = 0;

  int next() {
    if (buf_pos < buf_len) return static_cast<unsigned char>(buf[buf_pos++]);
    if (pos >= raw.size()) return -1;
    char c = raw[pos];
    if (!escaped || c != '\\') {
      ++pos;
      return static_cast<unsigned char>(c);
    }
    std::size_t used = decode_escape(raw, pos, buf, buf_len);
    if (used == 0) {  // not reachable for validated text; treat the backslash as a byte
      ++pos;
      return '\\';
    }
    pos += used;
    buf_pos = 1;
    return static_cast<unsigned char>(buf[0]);
  }
};

// Length of the valid UTF-8 sequence at s[i], 0 when invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = s.size();
  auto cont = [&](std::size_t k) { return k < n && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (i + 1 >= n) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xE0 && (c1 < 0xA0 || c1 > 0xBF)) return 0;
    if (c == 0xED && (c1 < 0x80 || c1 > 0x9F)) return 0;
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (i + 1 >= n) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xF0 && (c1 < 0x90 || c1 > 0xBF)) return 0;
    if (c == 0xF4 && (c1 < 0x80 || c1 > 0x8F)) return 0;
    return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::size_t unescape_append(std::string_view raw, std::string& out) {
  std::size_t i = 0;
  while (i < raw.size()) {
    const void* bs = std::memchr(raw.data() + i, '\\', raw.size() - i);
    std::size_t stop = bs ? static_cast<const char*>(bs) - raw.data() : raw.size();
    out.append(raw.data() + i, stop - i);
    i = stop;
    if (i >= raw.size()) break;
    char buf[4];
    int len = 0;
    std::size_t used = decode_escape(raw, i, buf, len);
    if (used == 0) return i;
    out.append(buf, static_cast<std::size_t>(len));
    i += used;
  }
  return std::string_view::npos;
}

void escape_append(std::string_view plain, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t i = 0, run = 0;
  while (i < plain.size()) {
    unsigned char c = static_cast<unsigned char>(plain[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      std::size_t len = utf8_sequence(plain, i);
      if (len != 0) {
        i += len;
        continue;
      }
    }
    out.append(plain.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += "\xEF\xBF\xBD";  // invalid UTF-8 byte -> U+FFFD
        }
    }
    ++i;
    run = i;
  }
  out.append(plain.data() + run, plain.size() - run);
}

void quote_append(std::string_view plain, std::string& out) {
  out += '"';
  escape_append(plain, out);
  out += '"';
}

bool equals_unescaped(std::string_view raw, bool escaped, std::string_view plain) {
  if (!escaped) return raw == plain;
  // An escape is at least as long as what it stands for, so a shorter raw can never match.
  if (raw.size() < plain.size()) return false;
  unescaped_reader r(raw, true);
  for (char c : plain) {
    if (r.next() != static_cast<unsigned char>(c)) return false;
  }
  return r.next() < 0;
}

int compare_unescaped(std::string_view a, bool a_escaped, std::string_view b, bool b_escaped) {
  if (!a_escaped && !b_escaped) {
    int c = a.compare(b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  unescaped_reader ra(a, a_escaped), rb(b, b_escaped);
  for (;;) {
    int x = ra.next(), y = rb.next();
    if (x != y) return x < y ? -1 : 1;
    if (x < 0) return 0;
  }
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string_view utf8_suffix(std::string_view s, std::size_t n) {
  if (n == 0) return s.substr(s.size());
  std::size_t i = s.size(), seen = 0;
  while (i > 0) {
    --i;
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++seen == n) return s.substr(i);
  }
  return s;
}

json_number parse_number(std::string_view text) {
  json_number n;
  const char* b = text.data();
  const char* e = b + text.size();
  if (text.find_first_of(".eE") == std::string_view::npos) {
    auto r = std::from_chars(b, e, n.i);
    if (r.ec == std::errc() && r.ptr == e) {
      n.integral = true;
      n.d = static_cast<double>(n.i);
      return n;
    }
  }
  auto r = std::from_chars(b, e, n.d);
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars leaves the value alone on overflow/underflow: decide from the exponent's sign.
    bool negative = !text.empty() && text[0] == '-';
    auto epos = text.find_first_of("eE");
    bool tiny = epos != std::string_view::npos && epos + 1 < text.size() && text[epos + 1] == '-';
    double mag = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    n.d = negative ? -mag : mag;
  }
  return n;
}

}  // namespace kgw::policies::json

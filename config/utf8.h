#pragma once
// Decoding one UTF-8 sequence, strictly (no overlongs, no surrogates, nothing past U+10FFFF):
// shared by the configuration reader (which refuses invalid text) and certificate names (which
// substitute U+FFFD, as Java does). Header-only: it sits below everything that uses it.
// Threading: a pure function.
#include <cstddef>
#include <string_view>

namespace kgw::config {

// Length of the UTF-8 sequence starting at s[i], with its code point in cp; 0 when the bytes
// there are not a valid sequence (a stray continuation byte, truncated, overlong, a surrogate,
// beyond U+10FFFF).
inline std::size_t utf8_decode(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t n;
  char32_t min;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace kgw::config

#pragma once
// Test helper: bytes written by hand. "00 03 | 'cli' ff" -> {0x00, 0x03, 'c', 'l', 'i', 0xff}.
// Hex pairs, 'quoted ASCII', and whitespace / '|' separators (ignored). Throws on bad input.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::protocol::testing {

inline std::vector<std::byte> hex(std::string_view s) {
  std::vector<std::byte> out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument(std::string("bad hex digit: ") + c);
  };
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ' ' || c == '\n' || c == '|') {
      ++i;
    } else if (c == '\'') {
      const std::size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) throw std::invalid_argument("unterminated quote");
      for (std::size_t j = i + 1; j < end; ++j) out.push_back(static_cast<std::byte>(s[j]));
      i = end + 1;
    } else {
      if (i + 1 >= s.size()) throw std::invalid_argument("odd hex digit count");
      out.push_back(static_cast<std::byte>(nibble(c) * 16 + nibble(s[i + 1])));
      i += 2;
    }
  }
  return out;
}

}  // namespace kgw::protocol::testing

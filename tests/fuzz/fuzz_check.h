#pragma once
// How a fuzz target's oracle fails: a broken property prints what broke and aborts, so libFuzzer
// keeps the input as a crash-* reproducer (and the run fails). Checks are properties of the
// output, not only "no crash".
// Threading: any thread (writes to stderr, then aborts the process).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "protocol/wire.h"

namespace kgw::fuzz {

[[noreturn]] inline void fail(std::string_view property, std::string_view detail = {}) {
  std::fprintf(stderr, "\nFUZZ PROPERTY BROKEN: %.*s%s%.*s\n", static_cast<int>(property.size()), property.data(),
               detail.empty() ? "" : ": ", static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void require(bool holds, std::string_view property, std::string_view detail = {}) {
  if (!holds) fail(property, detail);
}

inline protocol::bytes_view bytes_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

inline std::int16_t be16(const std::uint8_t* p) { return static_cast<std::int16_t>((p[0] << 8) | p[1]); }

}  // namespace kgw::fuzz

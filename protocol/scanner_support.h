#pragma once
// Pieces the streaming walkers (fetch_scanner, produce_scanner) share: each parses one step from
// the bytes that have arrived, bounds every count by what the body has left, and tells a step
// cut short by the end of what arrived (wait for more) from a malformed one.
// Threading: pure functions.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/wire.h"

namespace kgw::protocol::scanning {

// The reader stopped at the end of its bytes (more may arrive), not at something wrong.
inline bool truncated(const reader& r) {
  const std::string_view what = r.error().what;
  return what == "truncated" || what == "truncated varint";
}

// Skips a tagged-field section; the reader fails if it is cut short.
inline void skip_tags(reader& r, std::size_t body_left) {
  const std::uint32_t n = r.uvarint();
  if (r.ok() && n > body_left) r.fail("tagged field count exceeds frame");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

// An array's element count (compact: uvarint N+1). Null is malformed (none of these arrays may
// be), and every element takes at least one byte of what the body has left.
inline std::uint32_t array_length(reader& r, bool compact, std::size_t body_left) {
  if (compact) {
    const std::uint32_t n = r.uvarint();
    if (r.ok() && n == 0) r.fail("null array");
    if (r.ok() && n - 1 > body_left) r.fail("array length exceeds frame");
    return r.ok() ? n - 1 : 0;
  }
  const std::int32_t n = r.i32();
  if (r.ok() && (n < 0 || static_cast<std::size_t>(n) > body_left)) r.fail(n < 0 ? "null array" : "array length exceeds frame");
  return r.ok() ? static_cast<std::uint32_t>(n) : 0;
}

}  // namespace kgw::protocol::scanning

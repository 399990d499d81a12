#pragma once
// Value pools for the generated sample messages (protocol/samples.h, target kgw_protocol_samples):
// deterministic, non-default values with static storage, so the views in a filled message stay
// valid for the whole program. Test-only code.
// Threading: constant data; any thread.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/wire.h"

namespace kgw::protocol::testing {

// Non-empty strings, most of them non-ASCII UTF-8.
inline std::string_view sample_string(int k) {
  static constexpr std::string_view pool[] = {
      "alpha", "b\xc3\xa9ta-\xc3\xbc", "\xe2\x82\xac-gamma", "\xe6\x97\xa5\xe6\x9c\xac-topic", "d\xc3\xa9lta.example:9092",
  };
  return pool[static_cast<unsigned>(k) % std::size(pool)];
}

// Non-empty byte strings; one is large enough to be borrowed by the writer (>= 256 bytes).
inline bytes_view sample_bytes(int k) {
  static const std::array<std::byte, 3> small{std::byte{0x00}, std::byte{0xff}, std::byte{0x7f}};
  static const std::array<std::byte, 1> one{std::byte{0x80}};
  static const auto large = [] {
    std::array<std::byte, 300> a{};
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::byte>(i * 7 + 3);
    return a;
  }();
  switch (static_cast<unsigned>(k) % 3) {
    case 0: return large;
    case 1: return small;
    default: return one;
  }
}

inline uuid sample_uuid(int k) {
  uuid u{};
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = static_cast<std::byte>(k * 16 + static_cast<int>(i) + 1);
  return u;
}

// Two unknown tagged fields with the given (ascending) tags; the second tag is >= 128, so its
// varint takes two bytes.
inline std::vector<raw_tagged_field> sample_unknown_tags(std::uint32_t a, std::uint32_t b) {
  static const std::array<std::byte, 2> d1{std::byte{0x01}, std::byte{0x02}};
  static const std::array<std::byte, 0> d2{};
  return {{a, d1}, {b, d2}};
}

// Whether a nullable field is null in sample variant `variant` (0: none, 1: all, 2: every other).
inline bool sample_null(int variant, int field_index) { return variant == 1 || (variant == 2 && field_index % 2 == 1); }

inline constexpr int sample_variants = 3;

}  // namespace kgw::protocol::testing

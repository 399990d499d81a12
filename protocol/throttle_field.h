#pragma once
// Where a response carries throttle_time_ms, found without decoding the message, so the relay
// can raise it in place (to the larger of the broker's and the gateway's, as a quota asks) in a
// response it forwards as the bytes that arrived, also one cut through while it streams. Every
// API and version that has the field (protocol/schema/kafka.kgs knows where: throttle_place_of):
//   most APIs    the first body field (after the response header's tagged fields if flexible),
//                found in the response's first bytes;
//   OffsetDelete after error_code;
//   Produce v1+  after the responses array (v1-8: the last 4 bytes; v9+: the array is walked);
//   ApiVersions  after error_code and the api_keys array (walked; an error answer has none).
// Threading: pure functions.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "protocol/wire.h"

namespace kgw::protocol {

// frame: the response from its size prefix on; possibly only its beginning. nullopt: this
// API/version has no throttle_time_ms, it lies beyond the bytes given, or the bytes do not parse.
std::optional<std::size_t> throttle_offset(std::int16_t api_key, std::int16_t version, bytes_view frame);

// Sets the int32 at `offset` of `frame` to `ms` if that is larger; the value now there.
std::int32_t raise_throttle(std::span<std::byte> frame, std::size_t offset, std::int32_t ms);

}  // namespace kgw::protocol

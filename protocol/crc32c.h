#pragma once
// CRC-32C (Castagnoli), the checksum of Kafka record batches (v2): covers a batch from its
// attributes field to its end.
//
// crc32c() picks the SSE4.2 `crc32` instruction when the CPU has it (three interleaved streams,
// ~3x one stream's throughput), otherwise a portable slice-by-8 table. The choice is made once.
//
// Threading: pure functions over immutable tables; safe from any thread.
#include <cstdint>

#include "protocol/wire.h"

namespace kgw::protocol {

// CRC-32C of data. `crc` continues a previous result: crc32c(b, crc32c(a)) == crc32c(a ++ b).
std::uint32_t crc32c(bytes_view data, std::uint32_t crc = 0);

namespace detail {
// The two implementations behind crc32c(), exposed so tests can check each against the other.
std::uint32_t crc32c_portable(bytes_view data, std::uint32_t crc);
bool crc32c_hardware_available();
std::uint32_t crc32c_hardware(bytes_view data, std::uint32_t crc);  // only if available
}  // namespace detail

}  // namespace kgw::protocol

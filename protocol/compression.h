#pragma once
// The record-batch compression codecs (attributes bits 0-2 of a v2 batch): gzip, snappy, lz4, zstd.
//
// Formats are the ones Kafka clients exchange:
//   gzip    a gzip stream (RFC 1952); several concatenated members are accepted on input.
//   snappy  raw snappy (librdkafka writes it) or xerial snappy-java framing (Java clients write it:
//           magic 82 'SNAPPY' 00, int32 version 1, int32 compatible version 1, then blocks of
//           [int32 BE length][raw snappy]); decompress() tells them apart by the magic.
//   lz4     the LZ4 frame format; written with 64 KiB independent blocks and no checksums, which
//           is what Java's KafkaLZ4BlockInputStream can read.
//   zstd    zstd frames, decoded by streaming (the content size may be absent).
//
// Decompression is bounded: `max_out` caps what one call may append, so a small hostile batch
// cannot expand into gigabytes. Errors are values (short static-ish messages), never exceptions.
//
// Threading: any thread. Compression and decompression contexts are cached per thread
// (thread_local) so the per-batch path does not allocate them again.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace kgw::protocol {

enum class compression_codec : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// "none", "gzip", "snappy", "lz4", "zstd"; "unknown" for anything else.
const char* name_of(compression_codec c);

// Appends the decompressed bytes to out. Fails (message) on corrupt or truncated input, an unknown
// codec, or when this call would append more than max_out bytes (decompression bombs); on failure
// out may hold a partial result past its old size. Snappy: raw or xerial framing, detected by the
// magic; *snappy_xerial (when given) tells which was found. codec none copies `in`.
std::expected<void, std::string> decompress(compression_codec c, bytes_view in, std::vector<std::byte>& out,
                                            std::size_t max_out, bool* snappy_xerial = nullptr);

// Appends the compressed bytes to out (snappy_xerial: use the framing Java clients write).
// Empty input gives a valid empty stream of the codec. codec none copies `in`.
std::expected<void, std::string> compress(compression_codec c, bytes_view in, std::vector<std::byte>& out,
                                          bool snappy_xerial = false);

}  // namespace kgw::protocol

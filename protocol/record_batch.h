#pragma once
// Kafka record batches (magic 2) inside the `records` field of Produce requests and Fetch
// responses: split a records field into entries without decoding them, read a batch header,
// decode a whole batch (CRC-32C, decompression, every record and header) and encode one.
//
// Layout of a v2 batch (big endian; the CRC covers attributes .. end):
//   0 baseOffset i64 | 8 batchLength i32 (bytes after this field) | 12 partitionLeaderEpoch i32 |
//   16 magic i8 = 2 | 17 crc u32 | 21 attributes i16 | 23 lastOffsetDelta i32 |
//   27 baseTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16 |
//   53 baseSequence i32 | 57 recordCount i32 | 61 records (one compressed block if a codec is set)
// Record: length varint | attributes i8 | timestampDelta varlong | offsetDelta varint |
//   keyLength varint (-1 null) | key | valueLength varint (-1 null) | value |
//   headerCount varint | per header: keyLength varint | key | valueLength varint (-1 null) | value
// Legacy message sets (magic 0/1) share the first 17 bytes' shape (offset, size, crc, magic at
// byte 16); they are only recognised here, never decoded.
//
// Views returned by these functions point into the caller's buffers; nothing is copied except
// decompressed data, which lives in decoded_batch::plain.
//
// Threading: plain functions and values; a decoded_batch is used by one thread at a time.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/compression.h"
#include "protocol/wire.h"

namespace kgw::protocol {

inline constexpr std::size_t batch_v2_header_size = 61;      // through recordCount
inline constexpr std::size_t batch_log_overhead = 12;        // baseOffset + batchLength
inline constexpr std::size_t batch_crc_offset = 17;          // the crc field
inline constexpr std::size_t batch_crc_start = 21;           // first byte the crc covers

// Attribute bits of a v2 batch.
inline constexpr std::int16_t batch_codec_mask = 0x07;
inline constexpr std::int16_t batch_timestamp_type_bit = 0x08;  // set: LogAppendTime
inline constexpr std::int16_t batch_transactional_bit = 0x10;
inline constexpr std::int16_t batch_control_bit = 0x20;

// One entry of a records field (Fetch/Produce partition records), found without decoding it.
struct records_entry {
  enum class kind { batch_v2, legacy, truncated };  // truncated: the records field ends inside this entry
  kind what = kind::batch_v2;
  bytes_view bytes;         // the whole entry, offset field first
  std::int64_t base_offset = 0;
  std::int8_t magic = -1;   // -1 when truncated before the magic byte
};

// Splits a records field into entries. Brokers may cut the last batch at max_bytes: that tail is
// one `truncated` entry at the end. Never fails: from the first bytes that cannot be an entry
// (a tail shorter than the entry's length, a size too small for its magic, an unknown magic) to the
// end is one `truncated` entry. The entries cover `records` exactly, in order.
void split_records(bytes_view records, std::vector<records_entry>& out);  // out cleared first

// Records in a records field, from the batch headers alone (nothing decoded): a v2 batch's
// record count, 1 per legacy (v0/v1) message; a batch cut short counts nothing (consumers
// drop it).
std::uint64_t count_records(bytes_view records);

struct batch_header {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = -1;
  std::int8_t magic = 2;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = -1;
  std::int64_t max_timestamp = -1;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int32_t record_count = 0;

  // The codec bits as they are; values above 4 are not a known codec (decode/encode reject them).
  compression_codec codec() const { return static_cast<compression_codec>(attributes & batch_codec_mask); }
  bool transactional() const { return attributes & batch_transactional_bit; }
  bool control() const { return attributes & batch_control_bit; }
  bool log_append_time() const { return attributes & batch_timestamp_type_bit; }
  std::int64_t last_offset() const { return base_offset + last_offset_delta; }
};

// v2 header only (no CRC check, no record decoding): the batch must be exactly 12 + batchLength
// bytes, at least the header's 61, with magic 2 and a record count that is not negative.
std::expected<batch_header, std::string> read_batch_header(bytes_view batch);

struct record_header_bytes {
  bytes_view key;
  std::optional<bytes_view> value;
};

struct record_view {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  std::optional<bytes_view> key, value;
  std::uint32_t first_header = 0, header_count = 0;  // range in decoded_batch::headers

  std::span<const record_header_bytes> headers_in(const std::vector<record_header_bytes>& all) const {
    return std::span<const record_header_bytes>(all).subspan(first_header, header_count);
  }
};

// A decoded v2 batch. Reused across batches (decode clears it, keeping capacity) so the per-batch
// path does not allocate once warmed up.
struct decoded_batch {
  batch_header header;
  bool snappy_xerial = false;
  std::vector<record_view> records;
  std::vector<record_header_bytes> headers;
  std::vector<std::byte> plain;  // decompressed records; views point here (compressed) or into the input
};

// Full decode: header, CRC-32C check, decompression (at most max_uncompressed bytes), every record
// and header parsed, record count and lengths checked (each record exactly its length, no bytes
// after the last record). Views point into `batch` or out.plain. On failure `out` holds whatever
// was decoded before the error and must not be used.
// crc_checked: the caller already checked the CRC against these bytes (it is not computed twice).
std::expected<void, std::string> decode_batch(bytes_view batch, decoded_batch& out, std::size_t max_uncompressed,
                                              bool crc_checked = false);

struct record_to_write {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  std::optional<bytes_view> key, value;
  std::span<const record_header_bytes> headers;
};

// Appends one v2 batch to out: header fields copied from `like` (base offset, partition leader
// epoch, attributes incl. codec, LAST OFFSET DELTA (kept even when records were removed, so
// consumers advance past them), base/max timestamp, producer id/epoch, base sequence), record
// count = records.size() (0 is allowed: an empty batch still moves the consumer), records
// compressed with like's codec (snappy_xerial picks the framing), batch length and CRC-32C
// computed. Fails (out unchanged) on an unknown codec or sizes that do not fit the format.
std::expected<void, std::string> encode_batch(const batch_header& like, bool snappy_xerial,
                                              std::span<const record_to_write> records, std::vector<std::byte>& out);

}  // namespace kgw::protocol

// Record batches v2: split, header, decode, encode.
#include "protocol/record_batch.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>

#include "protocol/crc32c.h"

namespace kgw::protocol {

namespace {

constexpr std::size_t max_i32 = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());

// Smallest entries that still have a magic byte and the fields that magic implies.
constexpr std::int32_t min_v2_length = static_cast<std::int32_t>(batch_v2_header_size - batch_log_overhead);  // 49
constexpr std::int32_t min_v0_length = 14;  // crc, magic, attributes, key length, value length
constexpr std::int32_t min_v1_length = 22;  // ... plus the timestamp
// A record is at least 7 bytes: length, attributes, timestamp delta, offset delta, key length,
// value length and header count, one byte each. Bounds a record count before anything is reserved.
constexpr std::size_t min_record_size = 7;

inline std::uint32_t be32(const std::byte* p) {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[0])) << 24 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[1])) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[2])) << 8 | static_cast<std::uint8_t>(p[3]);
}
inline std::uint64_t be64(const std::byte* p) { return std::uint64_t{be32(p)} << 32 | be32(p + 4); }

// ---- direct writers (the encoder sizes everything first, then writes through a pointer) ----

template <class T>
inline std::byte* put_be(std::byte* p, T v) {
  using U = std::make_unsigned_t<T>;
  const auto u = static_cast<U>(v);
  for (int i = sizeof(T) - 1; i >= 0; --i) *p++ = static_cast<std::byte>(u >> (8 * i));
  return p;
}
inline std::byte* put_uvarint(std::byte* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<std::byte>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::byte>(v);
  return p;
}
inline std::uint32_t zigzag32(std::int32_t v) {
  return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
inline std::uint64_t zigzag64(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::byte* put_varint(std::byte* p, std::int32_t v) { return put_uvarint(p, zigzag32(v)); }
inline std::byte* put_varlong(std::byte* p, std::int64_t v) { return put_uvarint(p, zigzag64(v)); }
inline std::byte* put_bytes(std::byte* p, bytes_view b) {
  if (!b.empty()) std::memcpy(p, b.data(), b.size());
  return p + b.size();
}
inline std::byte* put_nullable(std::byte* p, const std::optional<bytes_view>& b) {
  if (!b) return put_varint(p, -1);
  p = put_varint(p, static_cast<std::int32_t>(b->size()));
  return put_bytes(p, *b);
}

inline std::size_t uvarint_size(std::uint64_t v) {
  return v < 0x80 ? 1 : (static_cast<std::size_t>(std::bit_width(v)) + 6) / 7;
}
inline std::size_t varint_size(std::int32_t v) { return uvarint_size(zigzag32(v)); }
inline std::size_t varlong_size(std::int64_t v) { return uvarint_size(zigzag64(v)); }
inline std::size_t nullable_size(const std::optional<bytes_view>& b) {
  return b ? varint_size(static_cast<std::int32_t>(b->size())) + b->size() : 1;
}

// Size of a record after its length varint; 0 when some length does not fit an int32.
std::size_t record_body_size(const record_to_write& r) {
  if ((r.key && r.key->size() > max_i32) || (r.value && r.value->size() > max_i32) || r.headers.size() > max_i32)
    return 0;
  std::size_t n = 1 + varlong_size(r.timestamp_delta) + varint_size(r.offset_delta) + nullable_size(r.key) +
                  nullable_size(r.value) + varint_size(static_cast<std::int32_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    if (h.key.size() > max_i32 || (h.value && h.value->size() > max_i32)) return 0;
    n += varint_size(static_cast<std::int32_t>(h.key.size())) + h.key.size() + nullable_size(h.value);
  }
  return n > max_i32 ? 0 : n;
}

std::byte* put_record(std::byte* p, const record_to_write& r, std::size_t body) {
  p = put_varint(p, static_cast<std::int32_t>(body));
  *p++ = static_cast<std::byte>(r.attributes);
  p = put_varlong(p, r.timestamp_delta);
  p = put_varint(p, r.offset_delta);
  p = put_nullable(p, r.key);
  p = put_nullable(p, r.value);
  p = put_varint(p, static_cast<std::int32_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    p = put_varint(p, static_cast<std::int32_t>(h.key.size()));
    p = put_bytes(p, h.key);
    p = put_nullable(p, h.value);
  }
  return p;
}

// Writes every record to `p` (exactly `total` bytes, as sized by records_size()).
void put_records(std::byte* p, std::span<const record_to_write> records) {
  for (const auto& r : records) p = put_record(p, r, record_body_size(r));
}

// Total encoded size of the records, or an error naming the record that does not fit.
std::expected<std::size_t, std::string> records_size(std::span<const record_to_write> records) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::size_t body = record_body_size(records[i]);
    if (body == 0) return std::unexpected("record " + std::to_string(i) + " is larger than the format allows");
    total += uvarint_size(zigzag32(static_cast<std::int32_t>(body))) + body;
    if (total > max_i32) return std::unexpected(std::string("records are larger than a batch can hold"));
  }
  return total;
}

// ---- decoding ----

std::unexpected<std::string> record_error(std::size_t index, const char* what) {
  return std::unexpected("record " + std::to_string(index) + ": " + what);
}

// Parses one record (its length varint included) from r into out. Header views go to headers.
std::expected<void, std::string> read_record(reader& r, std::size_t index, record_view& rec,
                                             std::vector<record_header_bytes>& headers) {
  const std::int32_t len = r.varint();
  if (!r.ok()) return record_error(index, r.error().what);
  if (len < 0) return record_error(index, "negative record length");
  if (static_cast<std::size_t>(len) > r.remaining()) return record_error(index, "record length exceeds the batch");
  reader rr(r.raw(static_cast<std::size_t>(len)));

  rec.attributes = rr.i8();
  rec.timestamp_delta = rr.varlong();
  rec.offset_delta = rr.varint();
  const std::int32_t key_len = rr.varint();
  if (key_len < -1) return record_error(index, "negative key length");
  if (key_len >= 0) rec.key = rr.raw(static_cast<std::size_t>(key_len));
  const std::int32_t value_len = rr.varint();
  if (value_len < -1) return record_error(index, "negative value length");
  if (value_len >= 0) rec.value = rr.raw(static_cast<std::size_t>(value_len));
  const std::int32_t header_count = rr.varint();
  if (!rr.ok()) return record_error(index, rr.error().what);
  if (header_count < 0) return record_error(index, "negative header count");
  // Every header is at least 2 bytes (key length, value length).
  if (static_cast<std::size_t>(header_count) > rr.remaining() / 2)
    return record_error(index, "header count exceeds the record");

  rec.first_header = static_cast<std::uint32_t>(headers.size());
  rec.header_count = static_cast<std::uint32_t>(header_count);
  for (std::int32_t i = 0; i < header_count; ++i) {
    auto& h = headers.emplace_back();
    const std::int32_t hk = rr.varint();
    if (hk < 0) return record_error(index, rr.ok() ? "negative header key length" : rr.error().what);
    h.key = rr.raw(static_cast<std::size_t>(hk));
    const std::int32_t hv = rr.varint();
    if (hv < -1) return record_error(index, "negative header value length");
    if (hv >= 0) h.value = rr.raw(static_cast<std::size_t>(hv));
    if (!rr.ok()) return record_error(index, rr.error().what);
  }
  if (!rr.ok()) return record_error(index, rr.error().what);
  if (rr.remaining() != 0) return record_error(index, "bytes left after the record's fields");
  return {};
}

void truncated_entry(bytes_view rest, std::vector<records_entry>& out, bool magic_in_entry = true) {
  records_entry e;
  e.what = records_entry::kind::truncated;
  e.bytes = rest;
  if (rest.size() >= 8) e.base_offset = static_cast<std::int64_t>(be64(rest.data()));
  if (magic_in_entry && rest.size() > 16) e.magic = static_cast<std::int8_t>(rest[16]);
  out.push_back(e);
}

}  // namespace

std::uint64_t count_records(bytes_view records) {
  constexpr std::size_t prefix = 12, magic_at = 16, count_at = 57, v2_header = 61;
  std::uint64_t n = 0;
  while (records.size() >= prefix) {
    reader r(records.subspan(0, prefix));
    r.i64();
    const std::int32_t length = r.i32();
    if (length <= 0 || static_cast<std::size_t>(length) > records.size() - prefix) break;
    const std::size_t batch = prefix + static_cast<std::size_t>(length);
    if (batch > magic_at) {
      const auto magic = static_cast<std::uint8_t>(records[magic_at]);
      if (magic >= 2 && batch >= v2_header) {
        reader c(records.subspan(count_at, 4));
        const std::int32_t count = c.i32();
        if (count > 0) n += static_cast<std::uint64_t>(count);
      } else if (magic < 2) {
        n += 1;
      }
    }
    records = records.subspan(batch);
  }
  return n;
}

void split_records(bytes_view records, std::vector<records_entry>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos < records.size()) {
    const bytes_view rest = records.subspan(pos);
    if (rest.size() < batch_log_overhead) return truncated_entry(rest, out);
    const auto size = static_cast<std::int32_t>(be32(rest.data() + 8));
    // A size that cannot even hold the crc and magic: nothing after it can be trusted.
    if (size < 5) return truncated_entry(rest, out, false);
    const std::size_t total = batch_log_overhead + static_cast<std::size_t>(size);
    if (total > rest.size()) return truncated_entry(rest, out);  // cut at max_bytes

    const auto magic = static_cast<std::int8_t>(rest[16]);
    std::int32_t min_length = 0;
    records_entry::kind what = records_entry::kind::legacy;
    switch (magic) {
      case 0: min_length = min_v0_length; break;
      case 1: min_length = min_v1_length; break;
      case 2: min_length = min_v2_length; what = records_entry::kind::batch_v2; break;
      default: return truncated_entry(rest, out);  // unknown format: the rest is opaque
    }
    if (size < min_length) return truncated_entry(rest, out);
    out.push_back({what, rest.first(total), static_cast<std::int64_t>(be64(rest.data())), magic});
    pos += total;
  }
}

std::expected<batch_header, std::string> read_batch_header(bytes_view batch) {
  if (batch.size() > 16 && static_cast<std::int8_t>(batch[16]) != 2)
    return std::unexpected("not a v2 record batch (magic " + std::to_string(static_cast<int>(static_cast<std::int8_t>(batch[16]))) + ")");
  if (batch.size() < batch_v2_header_size)
    return std::unexpected("record batch of " + std::to_string(batch.size()) + " bytes is shorter than its header");
  reader r(batch);
  batch_header h;
  h.base_offset = r.i64();
  h.batch_length = r.i32();
  h.partition_leader_epoch = r.i32();
  h.magic = r.i8();
  h.crc = r.u32();
  h.attributes = r.i16();
  h.last_offset_delta = r.i32();
  h.base_timestamp = r.i64();
  h.max_timestamp = r.i64();
  h.producer_id = r.i64();
  h.producer_epoch = r.i16();
  h.base_sequence = r.i32();
  h.record_count = r.i32();
  if (h.batch_length < min_v2_length || batch_log_overhead + static_cast<std::size_t>(h.batch_length) != batch.size())
    return std::unexpected("record batch length " + std::to_string(h.batch_length) + " does not match its " +
                           std::to_string(batch.size()) + " bytes");
  if (h.record_count < 0) return std::unexpected("negative record count " + std::to_string(h.record_count));
  return h;
}

std::expected<void, std::string> decode_batch(bytes_view batch, decoded_batch& out, std::size_t max_uncompressed,
                                              bool crc_checked) {
  out.records.clear();
  out.headers.clear();
  out.plain.clear();
  out.snappy_xerial = false;

  auto header = read_batch_header(batch);
  if (!header) return std::unexpected(std::move(header.error()));
  out.header = *header;
  const batch_header& h = out.header;

  const std::uint32_t crc = crc_checked ? h.crc : crc32c(batch.subspan(batch_crc_start));
  if (crc != h.crc) {
    char msg[80];
    std::snprintf(msg, sizeof msg, "record batch CRC mismatch: stored %08x, computed %08x", h.crc, crc);
    return std::unexpected(std::string(msg));
  }
  const int codec_bits = h.attributes & batch_codec_mask;
  if (codec_bits > static_cast<int>(compression_codec::zstd))
    return std::unexpected("unknown compression codec " + std::to_string(codec_bits));

  bytes_view data = batch.subspan(batch_v2_header_size);
  // An empty batch may carry a codec but no compressed bytes at all (the log cleaner writes
  // those); Java never looks at the data when the count is 0.
  if (h.codec() != compression_codec::none && !(h.record_count == 0 && data.empty())) {
    auto d = decompress(h.codec(), data, out.plain, max_uncompressed, &out.snappy_xerial);
    if (!d) return std::unexpected("record batch: " + d.error());
    data = out.plain;
  }

  const auto count = static_cast<std::size_t>(h.record_count);
  if (count > data.size() / min_record_size)
    return std::unexpected("record count " + std::to_string(count) + " exceeds what " + std::to_string(data.size()) +
                           " bytes of records can hold");
  out.records.resize(count);
  reader r(data);
  for (std::size_t i = 0; i < count; ++i) {
    auto rec = read_record(r, i, out.records[i], out.headers);
    if (!rec) return rec;
  }
  if (r.remaining() != 0)
    return std::unexpected(std::to_string(r.remaining()) + " bytes after the last of " + std::to_string(count) +
                           " records");
  return {};
}

std::expected<void, std::string> encode_batch(const batch_header& like, bool snappy_xerial,
                                              std::span<const record_to_write> records, std::vector<std::byte>& out) {
  const int codec_bits = like.attributes & batch_codec_mask;
  if (codec_bits > static_cast<int>(compression_codec::zstd))
    return std::unexpected("unknown compression codec " + std::to_string(codec_bits));
  if (records.size() > max_i32) return std::unexpected(std::string("too many records for one batch"));
  auto size = records_size(records);
  if (!size) return std::unexpected(std::move(size.error()));
  const std::size_t total = *size;
  const compression_codec codec = like.codec();

  const std::size_t base = out.size();
  if (codec == compression_codec::none) {
    out.resize(base + batch_v2_header_size + total);
    put_records(out.data() + base + batch_v2_header_size, records);
  } else {
    // Records are laid out plainly in a per-thread scratch buffer, then compressed in one call.
    thread_local std::vector<std::byte> scratch;
    scratch.resize(total);
    put_records(scratch.data(), records);
    out.resize(base + batch_v2_header_size);
    auto c = compress(codec, scratch, out, snappy_xerial);
    // Keep a rare huge batch from pinning its memory to this thread forever.
    constexpr std::size_t keep_scratch = 16u << 20;
    if (scratch.capacity() > keep_scratch) std::vector<std::byte>().swap(scratch);
    if (!c) {
      out.resize(base);
      return std::unexpected("record batch: " + c.error());
    }
  }
  const std::size_t batch_length = out.size() - base - batch_log_overhead;
  if (batch_length > max_i32) {
    out.resize(base);
    return std::unexpected(std::string("record batch is larger than the format allows"));
  }

  std::byte* p = out.data() + base;
  p = put_be(p, like.base_offset);
  p = put_be(p, static_cast<std::int32_t>(batch_length));
  p = put_be(p, like.partition_leader_epoch);
  p = put_be(p, std::int8_t{2});
  p = put_be(p, std::uint32_t{0});  // crc, below
  p = put_be(p, like.attributes);
  p = put_be(p, like.last_offset_delta);
  p = put_be(p, like.base_timestamp);
  p = put_be(p, like.max_timestamp);
  p = put_be(p, like.producer_id);
  p = put_be(p, like.producer_epoch);
  p = put_be(p, like.base_sequence);
  put_be(p, static_cast<std::int32_t>(records.size()));

  const std::uint32_t crc = crc32c(bytes_view(out).subspan(base + batch_crc_start));
  put_be(out.data() + base + batch_crc_offset, crc);
  return {};
}

}  // namespace kgw::protocol

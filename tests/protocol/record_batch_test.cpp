// CRC-32C and record batches v2: golden bytes, encode/decode round trips for every codec,
// preserved header fields, empty batches, CRC and limit errors, lying lengths, split_records.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hex.h"
#include "protocol/crc32c.h"
#include "protocol/record_batch.h"

namespace proto = kgw::protocol;
using kgw::protocol::testing::hex;
using bytes = std::vector<std::byte>;

namespace {

bytes to_bytes(std::string_view s) { return {proto::as_bytes(s).begin(), proto::as_bytes(s).end()}; }

std::optional<std::string> str(const std::optional<proto::bytes_view>& b) {
  if (!b) return std::nullopt;
  return std::string(proto::as_string(*b));
}

// Records as owned strings, so a test can compare what went in with what came out.
struct sample_record {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  std::optional<std::string> key, value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const sample_record&) const = default;
};

// Views over sample records, valid while `samples` lives.
struct to_write {
  std::vector<std::vector<proto::record_header_bytes>> headers;
  std::vector<proto::record_to_write> records;
  explicit to_write(const std::vector<sample_record>& samples) {
    headers.reserve(samples.size());
    for (const auto& s : samples) {
      auto& hs = headers.emplace_back();
      for (const auto& [k, v] : s.headers) {
        proto::record_header_bytes h{proto::as_bytes(k), std::nullopt};
        if (v) h.value = proto::as_bytes(*v);
        hs.push_back(h);
      }
      proto::record_to_write r;
      r.attributes = s.attributes;
      r.timestamp_delta = s.timestamp_delta;
      r.offset_delta = s.offset_delta;
      if (s.key) r.key = proto::as_bytes(*s.key);
      if (s.value) r.value = proto::as_bytes(*s.value);
      r.headers = hs;
      records.push_back(r);
    }
  }
};

std::vector<sample_record> read_back(const proto::decoded_batch& d) {
  std::vector<sample_record> out;
  for (const auto& r : d.records) {
    sample_record s{r.attributes, r.timestamp_delta, r.offset_delta, str(r.key), str(r.value), {}};
    for (const auto& h : r.headers_in(d.headers)) s.headers.emplace_back(std::string(proto::as_string(h.key)), str(h.value));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<sample_record> varied_records(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<sample_record> out;
  for (std::size_t i = 0; i < n; ++i) {
    sample_record s;
    s.timestamp_delta = static_cast<std::int64_t>(i) * 3;
    s.offset_delta = static_cast<std::int32_t>(i);
    if (i % 5 != 0) s.key = "key-" + std::to_string(i);
    if (i % 7 != 3) s.value = std::string(rng() % 300, static_cast<char>('a' + i % 26)) + "{\"n\":" + std::to_string(i) + "}";
    for (std::size_t h = 0; h < i % 4; ++h)
      s.headers.emplace_back("h" + std::to_string(h), h == 1 ? std::nullopt : std::optional<std::string>("v" + std::to_string(i)));
    out.push_back(std::move(s));
  }
  return out;
}

proto::batch_header sample_header(proto::compression_codec codec, std::int32_t last_offset_delta) {
  proto::batch_header h;
  h.base_offset = 123456789012;
  h.partition_leader_epoch = 17;
  h.attributes = static_cast<std::int16_t>(static_cast<int>(codec));
  h.last_offset_delta = last_offset_delta;
  h.base_timestamp = 1700000000000;
  h.max_timestamp = 1700000009999;
  h.producer_id = 98765;
  h.producer_epoch = 3;
  h.base_sequence = 42;
  return h;
}

const proto::compression_codec all_codecs[] = {proto::compression_codec::none, proto::compression_codec::gzip,
                                               proto::compression_codec::snappy, proto::compression_codec::lz4,
                                               proto::compression_codec::zstd};

bytes encode(const proto::batch_header& like, const std::vector<sample_record>& recs, bool xerial = false) {
  to_write w(recs);
  bytes out;
  auto r = proto::encode_batch(like, xerial, w.records, out);
  REQUIRE(r.has_value());
  return out;
}

void store_crc(bytes& batch) {
  const std::uint32_t crc = proto::crc32c(proto::bytes_view(batch).subspan(proto::batch_crc_start));
  for (int i = 0; i < 4; ++i) batch[proto::batch_crc_offset + i] = static_cast<std::byte>(crc >> (24 - 8 * i));
}

// The golden batch below: two records, one header with a null value. CRC computed independently
// (bitwise CRC-32C in Python) over attributes..end.
const char* golden_batch =
    "00 00 00 00 00 00 00 64 | 00 00 00 48 | 00 00 00 05 | 02 | 6e aa 70 55 | 00 00 | 00 00 00 01 |"
    "00 00 01 8b cf e5 68 00 | 00 00 01 8b cf e5 68 05 | 00 00 00 00 00 00 00 2a | 00 01 | 00 00 00 07 |"
    "00 00 00 02 |"
    "16 | 00 | 00 | 00 | 01 | 04 'v0' | 02 | 02 'h' 01 |"     // key null, value "v0", header h=null
    "14 | 00 | 0a | 02 | 02 'k' | 06 'val' | 00";            // ts +5, offset +1, key "k", value "val"

}  // namespace

TEST_CASE("crc32c known vectors", "[records][crc]") {
  CHECK(proto::crc32c(proto::as_bytes("123456789")) == 0xE3069283u);
  CHECK(proto::crc32c({}) == 0u);
  // RFC 3720 (iSCSI) B.4 vectors.
  bytes zeros(32, std::byte{0}), ones(32, std::byte{0xff}), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<std::byte>(i);
    down[i] = static_cast<std::byte>(31 - i);
  }
  CHECK(proto::crc32c(zeros) == 0x8A9136AAu);
  CHECK(proto::crc32c(ones) == 0x62A8AB43u);
  CHECK(proto::crc32c(up) == 0x46DD794Eu);
  CHECK(proto::crc32c(down) == 0x113FDB5Cu);
  CHECK(proto::detail::crc32c_portable(proto::as_bytes("123456789"), 0) == 0xE3069283u);
}

TEST_CASE("crc32c continues a previous value and both implementations agree", "[records][crc]") {
  std::mt19937 rng(7);
  bytes data(200000);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  const proto::bytes_view all(data);
  const std::uint32_t whole = proto::crc32c(all);
  CHECK(whole == proto::detail::crc32c_portable(all, 0));
  for (std::size_t cut : {0u, 1u, 7u, 8u, 255u, 768u, 24576u, 100001u, 200000u})
    CHECK(proto::crc32c(all.subspan(cut), proto::crc32c(all.first(cut))) == whole);
  INFO("hardware crc32c available: " << proto::detail::crc32c_hardware_available());
  // Every alignment and lengths around the 3-way chunk sizes (3 x 256, 3 x 8192).
  for (std::size_t len : {0u, 1u, 5u, 8u, 9u, 63u, 767u, 768u, 769u, 1000u, 24575u, 24576u, 24577u, 50000u, 199990u}) {
    for (std::size_t off = 0; off < 9; ++off) {
      auto s = all.subspan(off, len);
      REQUIRE(proto::detail::crc32c_hardware(s, 0x1234u) == proto::detail::crc32c_portable(s, 0x1234u));
    }
  }
}

TEST_CASE("encode_batch writes the golden bytes and decode_batch reads them", "[records]") {
  const bytes golden = hex(golden_batch);
  proto::batch_header like;
  like.base_offset = 100;
  like.partition_leader_epoch = 5;
  like.last_offset_delta = 1;
  like.base_timestamp = 1700000000000;
  like.max_timestamp = 1700000000005;
  like.producer_id = 42;
  like.producer_epoch = 1;
  like.base_sequence = 7;
  std::vector<sample_record> recs = {{0, 0, 0, std::nullopt, "v0", {{"h", std::nullopt}}},
                                     {0, 5, 1, "k", "val", {}}};
  CHECK(encode(like, recs) == golden);

  proto::decoded_batch d;
  REQUIRE(proto::decode_batch(golden, d, 1 << 20).has_value());
  CHECK(d.header.base_offset == 100);
  CHECK(d.header.batch_length == 72);
  CHECK(d.header.crc == 0x6eaa7055u);
  CHECK(d.header.record_count == 2);
  CHECK(d.header.last_offset() == 101);
  CHECK(read_back(d) == recs);
  // Uncompressed: views point into the input, nothing was copied.
  const auto* begin = golden.data();
  CHECK(d.records[1].value->data() >= begin);
  CHECK(d.records[1].value->data() < begin + golden.size());
  CHECK(d.plain.empty());
}

TEST_CASE("decode(encode(x)) == x for every codec", "[records]") {
  for (auto codec : all_codecs) {
    for (bool xerial : {false, true}) {
      if (xerial && codec != proto::compression_codec::snappy) continue;
      for (std::size_t n : {1u, 2u, 17u, 1000u}) {
        INFO(proto::name_of(codec) << " xerial=" << xerial << " records=" << n);
        auto recs = varied_records(n, static_cast<std::uint32_t>(n));
        auto like = sample_header(codec, static_cast<std::int32_t>(n - 1));
        const bytes batch = encode(like, recs, xerial);
        proto::decoded_batch d;
        auto r = proto::decode_batch(batch, d, 64 << 20);
        REQUIRE(r.has_value());
        CHECK(d.header.codec() == codec);
        CHECK(d.snappy_xerial == xerial);
        CHECK(d.header.record_count == static_cast<std::int32_t>(n));
        CHECK(read_back(d) == recs);
        if (codec != proto::compression_codec::none) CHECK_FALSE(d.plain.empty());
      }
    }
  }
}

TEST_CASE("encode keeps the header fields and the CRC verifies", "[records]") {
  for (auto codec : all_codecs) {
    INFO(proto::name_of(codec));
    // Records 0..9 of a batch that had 50: last_offset_delta stays 49 so consumers skip the rest.
    auto like = sample_header(codec, 49);
    like.attributes |= proto::batch_transactional_bit | proto::batch_timestamp_type_bit;
    const bytes batch = encode(like, varied_records(10, 3));
    auto h = proto::read_batch_header(batch);
    REQUIRE(h.has_value());
    CHECK(h->base_offset == like.base_offset);
    CHECK(h->partition_leader_epoch == like.partition_leader_epoch);
    CHECK(h->magic == 2);
    CHECK(h->attributes == like.attributes);
    CHECK(h->codec() == codec);
    CHECK(h->transactional());
    CHECK(h->log_append_time());
    CHECK_FALSE(h->control());
    CHECK(h->last_offset_delta == 49);
    CHECK(h->base_timestamp == like.base_timestamp);
    CHECK(h->max_timestamp == like.max_timestamp);
    CHECK(h->producer_id == like.producer_id);
    CHECK(h->producer_epoch == like.producer_epoch);
    CHECK(h->base_sequence == like.base_sequence);
    CHECK(h->record_count == 10);
    CHECK(static_cast<std::size_t>(h->batch_length) + 12 == batch.size());
    CHECK(h->crc == proto::crc32c(proto::bytes_view(batch).subspan(21)));
  }
}

TEST_CASE("an empty batch encodes and decodes for every codec", "[records]") {
  for (auto codec : all_codecs) {
    INFO(proto::name_of(codec));
    auto like = sample_header(codec, 9);
    const bytes batch = encode(like, {});
    proto::decoded_batch d;
    d.records.resize(3);  // leftovers from an earlier batch must go
    REQUIRE(proto::decode_batch(batch, d, 1 << 20).has_value());
    CHECK(d.header.record_count == 0);
    CHECK(d.header.last_offset_delta == 9);
    CHECK(d.records.empty());
  }
  SECTION("a codec with no compressed bytes at all (what the log cleaner leaves)") {
    auto like = sample_header(proto::compression_codec::zstd, 4);
    bytes batch = encode(like, {});
    batch.resize(proto::batch_v2_header_size);
    const std::int32_t len = static_cast<std::int32_t>(batch.size() - 12);
    for (int i = 0; i < 4; ++i) batch[8 + i] = static_cast<std::byte>(len >> (24 - 8 * i));
    store_crc(batch);
    proto::decoded_batch d;
    REQUIRE(proto::decode_batch(batch, d, 1 << 20).has_value());
    CHECK(d.records.empty());
  }
}

TEST_CASE("a decoded_batch is reused across batches", "[records]") {
  proto::decoded_batch d;
  const bytes big = encode(sample_header(proto::compression_codec::lz4, 99), varied_records(100, 1));
  const bytes small = encode(sample_header(proto::compression_codec::none, 2), varied_records(3, 2));
  REQUIRE(proto::decode_batch(big, d, 1 << 20).has_value());
  CHECK(d.records.size() == 100);
  const auto cap = d.records.capacity();
  REQUIRE(proto::decode_batch(small, d, 1 << 20).has_value());
  CHECK(read_back(d) == varied_records(3, 2));
  CHECK(d.plain.empty());
  CHECK(d.records.capacity() == cap);
  REQUIRE(proto::decode_batch(big, d, 1 << 20).has_value());
  CHECK(read_back(d) == varied_records(100, 1));
}

TEST_CASE("encode_batch appends and rejects an unknown codec", "[records]") {
  bytes out = to_bytes("prefix");
  auto recs = varied_records(4, 9);
  to_write w(recs);
  REQUIRE(proto::encode_batch(sample_header(proto::compression_codec::gzip, 3), false, w.records, out).has_value());
  REQUIRE(out.size() > 6);
  CHECK(std::string(reinterpret_cast<const char*>(out.data()), 6) == "prefix");
  proto::decoded_batch d;
  REQUIRE(proto::decode_batch(proto::bytes_view(out).subspan(6), d, 1 << 20).has_value());
  CHECK(read_back(d) == recs);

  const auto before = out;
  auto bad = sample_header(proto::compression_codec::none, 3);
  bad.attributes = 6;
  auto r = proto::encode_batch(bad, false, w.records, out);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("codec") != std::string::npos);
  CHECK(out == before);
}

TEST_CASE("decode_batch errors", "[records]") {
  const bytes good = encode(sample_header(proto::compression_codec::none, 4), varied_records(5, 5));
  proto::decoded_batch d;

  SECTION("CRC mismatch") {
    bytes b = good;
    b[b.size() - 1] ^= std::byte{1};
    auto r = proto::decode_batch(b, d, 1 << 20);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("CRC") != std::string::npos);
  }
  SECTION("decompression limit") {
    auto recs = varied_records(200, 8);
    for (auto codec : all_codecs) {
      if (codec == proto::compression_codec::none) continue;
      INFO(proto::name_of(codec));
      const bytes b = encode(sample_header(codec, 199), recs);
      REQUIRE(proto::decode_batch(b, d, 1 << 20).has_value());
      const std::size_t plain = d.plain.size();
      CHECK(proto::decode_batch(b, d, plain).has_value());
      auto r = proto::decode_batch(b, d, plain - 1);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().find("limit") != std::string::npos);
    }
  }
  SECTION("unknown codec") {
    bytes b = good;
    b[22] = std::byte{5};  // attributes low byte
    store_crc(b);
    auto r = proto::decode_batch(b, d, 1 << 20);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("codec") != std::string::npos);
  }
  SECTION("record count larger than the records") {
    bytes b = good;
    b[57] = std::byte{0x7f};  // count 0x7f000005
    store_crc(b);
    auto r = proto::decode_batch(b, d, 1 << 20);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("record count") != std::string::npos);
  }
  SECTION("record count one too many or one too few") {
    bytes more = good, fewer = good;
    more[60] = std::byte{6};
    fewer[60] = std::byte{4};
    store_crc(more);
    store_crc(fewer);
    CHECK_FALSE(proto::decode_batch(more, d, 1 << 20).has_value());
    auto r = proto::decode_batch(fewer, d, 1 << 20);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("after the last") != std::string::npos);
  }
  SECTION("negative record count") {
    bytes b = good;
    b[57] = std::byte{0xff};
    store_crc(b);
    auto r = proto::decode_batch(b, d, 1 << 20);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("negative record count") != std::string::npos);
  }
  SECTION("record fields that lie") {
    // One record, hand-written, inside the golden batch's header (count patched to 1).
    auto with_record = [](const bytes& rec) {
      bytes b = hex(golden_batch);
      b.resize(proto::batch_v2_header_size);
      b[60] = std::byte{1};
      b.insert(b.end(), rec.begin(), rec.end());
      const auto len = static_cast<std::int32_t>(b.size() - 12);
      for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<std::byte>(len >> (24 - 8 * i));
      store_crc(b);
      return b;
    };
    // A well-formed record body is 8 bytes: attributes, timestamp delta, offset delta, key length,
    // 'k', value length, 'v', header count; so its length varint is 10 (zig-zag 8).
    const std::pair<const char*, const char*> cases[] = {
        {"7e 00 00 00 02 'k' 02 'v' 00", "record length exceeds"},     // length 63
        {"01 00 00 00 02 'k' 02 'v' 00", "negative record length"},    // length -1
        {"16 00 00 00 02 'k' 02 'v' 00 00 00 00", "bytes left"},       // 3 bytes after the fields
        {"10 00 00 00 03 'k' 02 'v' 00", "negative key length"},       // key length -2
        {"10 00 00 00 7e 'k' 02 'v' 00", "truncated"},                 // key length 63
        {"10 00 00 00 02 'k' 03 'v' 00", "negative value length"},     // value length -2
        {"10 00 00 00 02 'k' 02 'v' 01", "negative header count"},     // header count -1
        {"10 00 00 00 02 'k' 02 'v' 7e", "header count exceeds"},      // 63 headers
        {"14 00 00 00 02 'k' 02 'v' 02 01 00", "negative header key"},  // header key length -1
        {"14 00 00 00 02 'k' 02 'v' 02 00 03", "negative header value"},
        {"20 00 ff ff ff ff ff ff ff ff ff ff 00 00 00 00 00", "varint"},  // timestamp delta too long
    };
    for (const auto& [rec, what] : cases) {
      INFO(rec);
      auto r = proto::decode_batch(with_record(hex(rec)), d, 1 << 20);
      REQUIRE_FALSE(r.has_value());
      CHECK_THAT(r.error(), Catch::Contains(what));
    }
    // And the well-formed version of those records decodes.
    const bytes ok = with_record(hex("16 00 00 00 02 'k' 02 'v' 02 02 'h' 01"));  // the views point into it
    REQUIRE(proto::decode_batch(ok, d, 1 << 20).has_value());
    CHECK(str(d.records.at(0).key) == "k");
    CHECK(d.headers.size() == 1);
  }
}

TEST_CASE("read_batch_header checks magic and lengths", "[records]") {
  const bytes good = hex(golden_batch);
  REQUIRE(proto::read_batch_header(good).has_value());
  for (int magic : {0, 1, 3}) {
    bytes b = good;
    b[16] = static_cast<std::byte>(magic);
    auto r = proto::read_batch_header(b);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains("magic " + std::to_string(magic)));
  }
  // A legacy magic-1 message shorter than a v2 header is still reported by its magic.
  auto legacy = proto::read_batch_header(hex("00 00 00 00 00 00 00 00 | 00 00 00 16 | 11 22 33 44 | 01 00"));
  REQUIRE_FALSE(legacy.has_value());
  CHECK_THAT(legacy.error(), Catch::Contains("magic 1"));

  CHECK_FALSE(proto::read_batch_header(proto::bytes_view(good).first(60)).has_value());
  bytes longer = good;
  longer.push_back(std::byte{0});
  CHECK_FALSE(proto::read_batch_header(longer).has_value());
  bytes short_len = good;
  short_len[11] = std::byte{0x30};  // batchLength 48 < 49
  CHECK_FALSE(proto::read_batch_header(short_len).has_value());
}

TEST_CASE("split_records finds batches, legacy entries and a truncated tail", "[records]") {
  const bytes b1 = encode(sample_header(proto::compression_codec::none, 2), varied_records(3, 1));
  auto h2 = sample_header(proto::compression_codec::zstd, 4);
  h2.base_offset = 200;
  const bytes b2 = encode(h2, varied_records(5, 2));
  // Legacy magic-1 message: offset 150, size 24, crc, magic 1, attributes, timestamp, key null, value "ab".
  const bytes legacy = hex("00 00 00 00 00 00 00 96 | 00 00 00 18 | de ad be ef | 01 | 00 | 00 00 00 00 00 00 00 01 |"
                           "ff ff ff ff | 00 00 00 02 'ab'");
  const bytes legacy0 = hex("00 00 00 00 00 00 00 97 | 00 00 00 0e | de ad be ef | 00 | 00 | ff ff ff ff | ff ff ff ff");

  bytes field;
  for (const bytes* p : {&b1, &legacy, &legacy0, &b2}) field.insert(field.end(), p->begin(), p->end());
  std::vector<proto::records_entry> entries;

  SECTION("whole entries") {
    entries.resize(9);  // cleared first
    proto::split_records(field, entries);
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].what == proto::records_entry::kind::batch_v2);
    CHECK(entries[0].base_offset == 123456789012);
    CHECK(entries[0].magic == 2);
    CHECK(entries[0].bytes.size() == b1.size());
    CHECK(entries[1].what == proto::records_entry::kind::legacy);
    CHECK(entries[1].base_offset == 150);
    CHECK(entries[1].magic == 1);
    CHECK(entries[2].what == proto::records_entry::kind::legacy);
    CHECK(entries[2].magic == 0);
    CHECK(entries[3].what == proto::records_entry::kind::batch_v2);
    CHECK(entries[3].base_offset == 200);
    CHECK(entries[3].bytes.data() == field.data() + field.size() - b2.size());
    CHECK(proto::read_batch_header(entries[3].bytes).has_value());
  }
  SECTION("every cut of the last batch is a truncated tail") {
    const std::size_t whole = field.size() - b2.size();
    for (std::size_t cut = 1; cut < b2.size(); ++cut) {
      proto::split_records(proto::bytes_view(field).first(whole + cut), entries);
      REQUIRE(entries.size() == 4);
      const auto& t = entries.back();
      CHECK(t.what == proto::records_entry::kind::truncated);
      CHECK(t.bytes.size() == cut);
      CHECK(t.magic == (cut > 16 ? 2 : -1));
      CHECK(t.base_offset == (cut >= 8 ? 200 : 0));
    }
  }
  SECTION("garbage after the entries") {
    field.insert(field.end(), 20, std::byte{0x55});  // size 0x55555555, far beyond the field
    proto::split_records(field, entries);
    REQUIRE(entries.size() == 5);
    CHECK(entries[4].what == proto::records_entry::kind::truncated);
    CHECK(entries[4].bytes.size() == 20);
    bytes neg = hex("00 00 00 00 00 00 00 01 | ff ff ff fe | 00 00 00 00 02");
    proto::split_records(neg, entries);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].what == proto::records_entry::kind::truncated);
    CHECK(entries[0].magic == -1);
  }
  SECTION("empty field") {
    proto::split_records({}, entries);
    CHECK(entries.empty());
  }
}

TEST_CASE("count_records counts v2 batches' records, a cut batch not at all", "[protocol][records]") {
  std::vector<std::byte> blob;
  for (int n : {3, 9}) {
    std::vector<std::string> values(static_cast<std::size_t>(n), "v");
    std::vector<proto::record_to_write> recs(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      recs[static_cast<std::size_t>(i)].offset_delta = i;
      recs[static_cast<std::size_t>(i)].value = proto::bytes_view(
          reinterpret_cast<const std::byte*>(values[0].data()), values[0].size());
    }
    proto::batch_header like;
    like.last_offset_delta = n - 1;
    REQUIRE(proto::encode_batch(like, false, recs, blob).has_value());
  }
  CHECK(proto::count_records(blob) == 12);
  blob.resize(blob.size() - 1);  // the last batch cut short: consumers drop it
  CHECK(proto::count_records(blob) == 3);
  CHECK(proto::count_records({}) == 0);
}

// Fixed-seed fuzzing of the record-batch readers (split_records, read_batch_header, decode_batch):
// random bytes, every truncation of valid batches, bit flips with the CRC left stale and with the
// CRC recomputed (so the decoder gets past it), and lying lengths and counts. Every input must
// either decode into views that stay inside the input or the decompressed buffer, or fail with a
// non-empty message; the ASan+UBSan build of this file turns any over-read into a failure.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "protocol/crc32c.h"
#include "protocol/record_batch.h"

namespace proto = kgw::protocol;
using bytes = std::vector<std::byte>;
using proto::compression_codec;

namespace {

constexpr std::size_t limit = 1 << 20;

struct fuzz_stats {
  std::size_t inputs = 0, decoded = 0, failed = 0;
  std::vector<std::string> problems;  // broken invariants (kept short)
  void problem(std::string s) {
    if (problems.size() < 20) problems.push_back(std::move(s));
  }
};

bool inside(proto::bytes_view part, proto::bytes_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}
bool inside_either(proto::bytes_view part, proto::bytes_view a, proto::bytes_view b) {
  return inside(part, a) || inside(part, b);
}

bool same(const std::optional<proto::bytes_view>& a, const std::optional<proto::bytes_view>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->size() == b->size() && (a->empty() || std::memcmp(a->data(), b->data(), a->size()) == 0));
}

// A decoded batch is consistent and, encoded again with its own header, decodes to the same records.
void check_decoded(proto::bytes_view input, const proto::decoded_batch& d, fuzz_stats& st) {
  if (d.records.size() != static_cast<std::size_t>(d.header.record_count)) st.problem("record count differs");
  std::size_t header_total = 0;
  for (const auto& r : d.records) {
    if ((r.key && !inside_either(*r.key, input, d.plain)) || (r.value && !inside_either(*r.value, input, d.plain)))
      st.problem("record view outside the buffers");
    if (r.first_header + static_cast<std::size_t>(r.header_count) > d.headers.size()) st.problem("header range");
    header_total += r.header_count;
    for (const auto& h : r.headers_in(d.headers))
      if (!inside_either(h.key, input, d.plain) || (h.value && !inside_either(*h.value, input, d.plain)))
        st.problem("header view outside the buffers");
  }
  if (header_total != d.headers.size()) st.problem("header total differs");

  std::vector<std::vector<proto::record_header_bytes>> hs;
  std::vector<proto::record_to_write> w;
  for (const auto& r : d.records) {
    auto range = r.headers_in(d.headers);
    hs.emplace_back(range.begin(), range.end());
  }
  for (std::size_t i = 0; i < d.records.size(); ++i) {
    const auto& r = d.records[i];
    w.push_back({r.attributes, r.timestamp_delta, r.offset_delta, r.key, r.value, hs[i]});
  }
  bytes again;
  auto e = proto::encode_batch(d.header, d.snappy_xerial, w, again);
  if (!e) return st.problem("re-encode failed: " + e.error());
  proto::decoded_batch d2;
  auto r2 = proto::decode_batch(again, d2, limit * 2);
  if (!r2) return st.problem("re-decode failed: " + r2.error());
  if (d2.records.size() != d.records.size()) return st.problem("re-decode count differs");
  for (std::size_t i = 0; i < d.records.size(); ++i) {
    const auto &a = d.records[i], &b = d2.records[i];
    if (a.attributes != b.attributes || a.timestamp_delta != b.timestamp_delta || a.offset_delta != b.offset_delta ||
        !same(a.key, b.key) || !same(a.value, b.value) || a.header_count != b.header_count)
      return st.problem("re-decoded record " + std::to_string(i) + " differs");
  }
}

// Runs all three readers over one input and checks what they say.
void exercise(proto::bytes_view input, fuzz_stats& st, proto::decoded_batch& d,
              std::vector<proto::records_entry>& entries) {
  ++st.inputs;

  proto::split_records(input, entries);
  std::size_t pos = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (e.bytes.data() != input.data() + pos || e.bytes.empty()) st.problem("entries not contiguous");
    pos += e.bytes.size();
    if (e.what == proto::records_entry::kind::truncated && i + 1 != entries.size()) st.problem("truncated not last");
    if (e.what == proto::records_entry::kind::batch_v2 && e.magic != 2) st.problem("v2 entry without magic 2");
    if (e.what == proto::records_entry::kind::legacy && e.magic != 0 && e.magic != 1) st.problem("legacy magic");
  }
  if (pos != input.size()) st.problem("entries do not cover the input");

  if (auto h = proto::read_batch_header(input)) {
    if (h->magic != 2 || static_cast<std::size_t>(h->batch_length) + 12 != input.size() || h->record_count < 0)
      st.problem("read_batch_header accepted an inconsistent header");
  } else if (h.error().empty()) {
    st.problem("read_batch_header: empty error");
  }

  auto r = proto::decode_batch(input, d, limit);
  if (r) {
    ++st.decoded;
    check_decoded(input, d, st);
  } else {
    ++st.failed;
    if (r.error().empty() || r.error().find('\0') != std::string::npos) st.problem("unclean error message");
  }
}

void put_be32(bytes& b, std::size_t pos, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[pos + i] = static_cast<std::byte>(v >> (24 - 8 * i));
}
void append_varint(bytes& b, std::int32_t v) {
  std::uint32_t u = (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
  for (; u >= 0x80; u >>= 7) b.push_back(static_cast<std::byte>((u & 0x7f) | 0x80));
  b.push_back(static_cast<std::byte>(u));
}
void fix_crc(bytes& b) {
  if (b.size() >= proto::batch_v2_header_size)
    put_be32(b, proto::batch_crc_offset, proto::crc32c(proto::bytes_view(b).subspan(proto::batch_crc_start)));
}
void fix_length(bytes& b) {
  if (b.size() >= 12) put_be32(b, 8, static_cast<std::uint32_t>(b.size() - 12));
}

// Valid batches for every codec (and both snappy framings), with null keys/values and headers.
struct corpus {
  std::vector<std::string> strings;
  std::vector<bytes> batches;
  corpus() {
    std::mt19937 rng(1234);
    strings.reserve(200);
    for (int i = 0; i < 200; ++i) strings.push_back(std::string(rng() % 40, static_cast<char>('a' + i % 26)));
    const compression_codec codecs[] = {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                                        compression_codec::lz4, compression_codec::zstd};
    for (auto c : codecs) {
      for (bool xerial : {false, true}) {
        if (xerial && c != compression_codec::snappy) continue;
        for (std::size_t n : {0u, 1u, 9u, 40u}) batches.push_back(make(c, xerial, n, rng));
      }
    }
  }
  bytes make(compression_codec c, bool xerial, std::size_t n, std::mt19937& rng) {
    std::vector<std::vector<proto::record_header_bytes>> hs(n);
    std::vector<proto::record_to_write> recs(n);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t h = 0; h < i % 3; ++h)
        hs[i].push_back({proto::as_bytes(strings[rng() % 200]),
                         h == 1 ? std::nullopt : std::optional(proto::as_bytes(strings[rng() % 200]))});
      recs[i].timestamp_delta = static_cast<std::int64_t>(i) * 1000;
      recs[i].offset_delta = static_cast<std::int32_t>(i);
      if (i % 4 != 1) recs[i].key = proto::as_bytes(strings[rng() % 200]);
      if (i % 5 != 2) recs[i].value = proto::as_bytes(strings[rng() % 200]);
      recs[i].headers = hs[i];
    }
    proto::batch_header h;
    h.base_offset = 1000;
    h.attributes = static_cast<std::int16_t>(static_cast<int>(c));
    h.last_offset_delta = static_cast<std::int32_t>(n ? n - 1 : 0);
    h.base_timestamp = h.max_timestamp = 1700000000000;
    bytes out;
    REQUIRE(proto::encode_batch(h, xerial, recs, out).has_value());
    return out;
  }
};

std::string report(const fuzz_stats& st) {
  std::string s = std::to_string(st.inputs) + " inputs, " + std::to_string(st.decoded) + " decoded, " +
                  std::to_string(st.failed) + " clean errors";
  for (const auto& p : st.problems) s += "\n  problem: " + p;
  return s;
}

}  // namespace

TEST_CASE("fuzz: random bytes", "[records][fuzz]") {
  std::mt19937_64 rng(0xC0FFEE);
  fuzz_stats st;
  proto::decoded_batch d;
  std::vector<proto::records_entry> entries;
  bytes buf;
  for (int i = 0; i < 20000; ++i) {
    buf.resize(rng() % 256);
    for (auto& b : buf) b = static_cast<std::byte>(rng());
    // A third of them get a plausible entry prefix so split_records goes further.
    if (i % 3 == 0 && buf.size() >= 17) {
      put_be32(buf, 8, static_cast<std::uint32_t>(rng() % (buf.size() + 8)) );
      buf[16] = static_cast<std::byte>(rng() % 4);
    }
    exercise(buf, st, d, entries);
  }
  INFO(report(st));
  CHECK(st.problems.empty());
  CHECK(st.inputs == 20000);
}

TEST_CASE("fuzz: random records behind a valid header and CRC", "[records][fuzz]") {
  std::mt19937_64 rng(0xBEEF);
  corpus c;
  fuzz_stats st;
  proto::decoded_batch d;
  std::vector<proto::records_entry> entries;
  for (int i = 0; i < 15000; ++i) {
    const bytes& base = c.batches[rng() % c.batches.size()];
    bytes b(base.begin(), base.begin() + proto::batch_v2_header_size);
    std::uint32_t count = static_cast<std::uint32_t>(rng() % 6);
    if (i % 2 == 0) {
      // Unstructured: small values mostly, so varints and lengths are often plausible.
      const std::size_t n = rng() % 200;
      for (std::size_t k = 0; k < n; ++k) b.push_back(static_cast<std::byte>(rng() % 4 == 0 ? rng() : rng() % 8));
    } else {
      // Records shaped right with random small fields and lengths in -2..9, then a byte or two
      // changed: gets deep into the record parser, uncompressed (codec bits cleared).
      b[22] = static_cast<std::byte>(static_cast<std::uint8_t>(b[22]) & 0xf8);
      auto zz = [](std::int32_t v) { return static_cast<std::byte>((static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31)); };
      auto field = [&](bytes& body) {
        const auto len = static_cast<std::int32_t>(rng() % 12) - 2;
        body.push_back(zz(len));
        for (std::int32_t k = 0; k < len; ++k) body.push_back(static_cast<std::byte>(rng()));
      };
      for (std::uint32_t r = 0; r < count; ++r) {
        bytes body = {std::byte{0}, zz(static_cast<std::int32_t>(rng() % 5)), zz(static_cast<std::int32_t>(r))};
        field(body);
        field(body);
        const std::uint32_t headers = rng() % 3;
        body.push_back(zz(static_cast<std::int32_t>(headers)));
        for (std::uint32_t h = 0; h < headers; ++h) {
          field(body);
          field(body);
        }
        const std::int32_t len = static_cast<std::int32_t>(body.size()) + (rng() % 8 == 0 ? static_cast<std::int32_t>(rng() % 5) - 2 : 0);
        append_varint(b, len);
        b.insert(b.end(), body.begin(), body.end());
      }
      if (rng() % 2 && b.size() > proto::batch_v2_header_size)
        b[proto::batch_v2_header_size + rng() % (b.size() - proto::batch_v2_header_size)] = static_cast<std::byte>(rng());
    }
    put_be32(b, 57, count);
    fix_length(b);
    fix_crc(b);
    exercise(b, st, d, entries);
  }
  INFO(report(st));
  CHECK(st.problems.empty());
  CHECK(st.failed > 0);
  CHECK(st.decoded > 1000);  // the shaped records get through the whole parser
}

TEST_CASE("fuzz: every truncation of valid batches", "[records][fuzz]") {
  corpus c;
  fuzz_stats st;
  proto::decoded_batch d;
  std::vector<proto::records_entry> entries;
  std::size_t complete = 0;
  for (const auto& batch : c.batches) {
    for (std::size_t cut = 0; cut <= batch.size(); ++cut) {
      bytes b(batch.begin(), batch.begin() + cut);  // own allocation: ASan sees reads past the cut
      exercise(b, st, d, entries);
      if (cut == batch.size()) {
        ++complete;
        if (st.decoded != complete) st.problem("a complete valid batch failed to decode");
      }
    }
    // Valid batch followed by part of another: split gives the batch, then a truncated entry.
    bytes two = batch;
    two.insert(two.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(batch.size() / 2));
    proto::split_records(two, entries);
    if (entries.size() != 2 || entries[0].what != proto::records_entry::kind::batch_v2 ||
        entries[1].what != proto::records_entry::kind::truncated)
      st.problem("batch + half batch did not split in two");
  }
  INFO(report(st));
  CHECK(st.problems.empty());
  CHECK(st.decoded == c.batches.size());  // only the whole batches decode
  CHECK(st.inputs > 5000);
}

TEST_CASE("fuzz: bit flips with the CRC stale and recomputed", "[records][fuzz]") {
  std::mt19937_64 rng(0xF11B);
  corpus c;
  fuzz_stats stale, fixed;
  proto::decoded_batch d;
  std::vector<proto::records_entry> entries;
  std::size_t stale_crc_errors = 0;
  for (int i = 0; i < 12000; ++i) {
    const bytes& base = c.batches[rng() % c.batches.size()];
    bytes b = base;
    const int flips = 1 + static_cast<int>(rng() % 3);
    bool covered = false;  // a flip inside the CRC-covered range
    for (int f = 0; f < flips; ++f) {
      const std::size_t pos = rng() % b.size();
      b[pos] ^= static_cast<std::byte>(1u << (rng() % 8));
      covered |= pos >= proto::batch_crc_start;
    }
    const std::size_t before = stale.failed;
    exercise(b, stale, d, entries);
    if (covered && b != base && stale.failed == before && proto::read_batch_header(b))
      stale.problem("a flip under the CRC went unnoticed");
    if (stale.failed != before) ++stale_crc_errors;
    fix_crc(b);
    exercise(b, fixed, d, entries);
  }
  INFO("stale CRC: " << report(stale));
  INFO("recomputed CRC: " << report(fixed));
  CHECK(stale.problems.empty());
  CHECK(fixed.problems.empty());
  CHECK(stale_crc_errors > 9000);
  CHECK(fixed.decoded > 0);  // some flips land in values and still decode
  CHECK(fixed.failed > 0);
}

TEST_CASE("fuzz: lying lengths and counts", "[records][fuzz]") {
  std::mt19937_64 rng(0x1E5);
  corpus c;
  fuzz_stats st;
  proto::decoded_batch d;
  std::vector<proto::records_entry> entries;
  const std::uint32_t counts[] = {0x7fffffff, 0x80000000, 0xffffffff, 0x10000000, 1000000, 100, 10, 8, 2, 1};
  // Zig-zag varints: huge, negative, -1, just past small limits.
  const std::vector<std::vector<std::uint8_t>> varints = {
      {0xfe, 0xff, 0xff, 0xff, 0x0f}, {0xff, 0xff, 0xff, 0xff, 0x0f}, {0x01}, {0x03}, {0x7e}, {0xfe, 0x7f},
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
  };
  for (int i = 0; i < 12000; ++i) {
    const bytes& base = c.batches[rng() % c.batches.size()];
    bytes b = base;
    switch (i % 4) {
      case 0:  // record count
        put_be32(b, 57, counts[rng() % std::size(counts)]);
        break;
      case 1:  // batch length (the field split_records and read_batch_header trust)
        put_be32(b, 8, static_cast<std::uint32_t>(rng() % 3 == 0 ? rng() : b.size() - 12 + (rng() % 9) - 4));
        break;
      case 2: {  // a lying varint spliced into the plain records of an uncompressed batch
        if ((static_cast<int>(b[22]) & 7) != 0 || b.size() <= proto::batch_v2_header_size) break;
        const std::size_t pos = proto::batch_v2_header_size + rng() % (b.size() - proto::batch_v2_header_size);
        const auto& v = varints[rng() % varints.size()];
        const std::size_t n = 1 + rng() % 2;  // replace 1-2 bytes
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(pos),
                b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), pos + n)));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pos), reinterpret_cast<const std::byte*>(v.data()),
                 reinterpret_cast<const std::byte*>(v.data() + v.size()));
        fix_length(b);
        break;
      }
      case 3:  // compressed payload replaced by random bytes, codec kept
        if (b.size() > proto::batch_v2_header_size) {
          for (std::size_t k = proto::batch_v2_header_size; k < b.size(); ++k) b[k] = static_cast<std::byte>(rng());
          if (rng() % 2) b.resize(proto::batch_v2_header_size + rng() % (b.size() - proto::batch_v2_header_size));
          fix_length(b);
        }
        break;
    }
    fix_crc(b);
    exercise(b, st, d, entries);
  }
  INFO(report(st));
  CHECK(st.problems.empty());
  CHECK(st.failed > 6000);
}

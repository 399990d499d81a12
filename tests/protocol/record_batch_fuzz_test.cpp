// Fixed-seed fuzzing of the record-batch readers (split_records, read_batch_header, decode_batch):
// random bytes, every truncation of valid batches, bit flips with the CRC left stale and with the
// CRC recomputed (so the decoder gets past it), and lying lengths and counts. Every input must
// pass record_batch_checks.h (views inside the buffers, stable re-encode, clean errors); the
// ASan+UBSan build of this file turns any over-read into a failure. tests/fuzz/ runs the same
// checks under libFuzzer.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "protocol/record_batch.h"
#include "record_batch_checks.h"

namespace proto = kgw::protocol;
using bytes = std::vector<std::byte>;
using proto::compression_codec;

namespace {

using namespace kgw::protocol::testing;
// Valid batches for every codec (and both snappy framings), with null keys/values and headers.
struct corpus {
  std::vector<bytes> batches = valid_batches();
};

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
    check_batch_readers(buf, st, d, entries);
  }
  INFO(st.report());
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
    check_batch_readers(b, st, d, entries);
  }
  INFO(st.report());
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
      check_batch_readers(b, st, d, entries);
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
  INFO(st.report());
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
    check_batch_readers(b, stale, d, entries);
    if (covered && b != base && stale.failed == before && proto::read_batch_header(b))
      stale.problem("a flip under the CRC went unnoticed");
    if (stale.failed != before) ++stale_crc_errors;
    fix_crc(b);
    check_batch_readers(b, fixed, d, entries);
  }
  INFO("stale CRC: " << stale.report());
  INFO("recomputed CRC: " << fixed.report());
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
    check_batch_readers(b, st, d, entries);
  }
  INFO(st.report());
  CHECK(st.problems.empty());
  CHECK(st.failed > 6000);
}

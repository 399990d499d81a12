// The record-batch codecs: round trips, framing details (xerial snappy, lz4 frame, streamed zstd,
// multi-member gzip), limits against decompression bombs, corrupt and truncated input.
#include <catch2/catch.hpp>

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hex.h"
#include "protocol/compression.h"

namespace proto = kgw::protocol;
using kgw::protocol::testing::hex;
using bytes = std::vector<std::byte>;
using proto::compression_codec;

namespace {

const compression_codec codecs[] = {compression_codec::gzip, compression_codec::snappy, compression_codec::lz4,
                                    compression_codec::zstd};

// Text-like data that compresses well (repeated JSON with varying numbers).
bytes compressible(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += "{\"user\":\"u" + std::to_string(rng() % 1000) + "\",\"amount\":" + std::to_string(rng() % 100000) + "},";
  s.resize(n);
  return {proto::as_bytes(s).begin(), proto::as_bytes(s).end()};
}
bytes random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng());
  return b;
}

bytes compress_ok(compression_codec c, const bytes& in, bool xerial = false) {
  bytes out;
  auto r = proto::compress(c, in, out, xerial);
  INFO(proto::name_of(c) << (r ? "" : ": " + r.error()));
  REQUIRE(r.has_value());
  return out;
}

std::uint32_t be32_at(const bytes& b, std::size_t pos) {
  return static_cast<std::uint32_t>(b[pos]) << 24 | static_cast<std::uint32_t>(b[pos + 1]) << 16 |
         static_cast<std::uint32_t>(b[pos + 2]) << 8 | static_cast<std::uint32_t>(b[pos + 3]);
}

}  // namespace

TEST_CASE("name_of names every codec", "[compression]") {
  CHECK(std::string(proto::name_of(compression_codec::none)) == "none");
  CHECK(std::string(proto::name_of(compression_codec::gzip)) == "gzip");
  CHECK(std::string(proto::name_of(compression_codec::snappy)) == "snappy");
  CHECK(std::string(proto::name_of(compression_codec::lz4)) == "lz4");
  CHECK(std::string(proto::name_of(compression_codec::zstd)) == "zstd");
  CHECK(std::string(proto::name_of(static_cast<compression_codec>(6))) == "unknown");
}

TEST_CASE("every codec round-trips empty, small, large and incompressible input", "[compression]") {
  const bytes inputs[] = {{}, compressible(1, 1), compressible(100, 2), compressible(3 << 20, 3),
                          random_bytes(300000, 4)};
  for (auto c : codecs) {
    for (bool xerial : {false, true}) {
      if (xerial && c != compression_codec::snappy) continue;
      for (const auto& in : inputs) {
        INFO(proto::name_of(c) << " xerial=" << xerial << " size=" << in.size());
        const bytes z = compress_ok(c, in, xerial);
        if (in.size() > 100000 && in[0] == std::byte{'{'}) CHECK(z.size() < in.size() / 2);
        bytes out = hex("'kept'");  // decompress appends
        bool seen_xerial = !xerial;
        auto r = proto::decompress(c, z, out, in.size(), &seen_xerial);
        INFO((r ? "" : r.error()));
        REQUIRE(r.has_value());
        CHECK(seen_xerial == xerial);
        REQUIRE(out.size() == 4 + in.size());
        CHECK(std::memcmp(out.data(), "kept", 4) == 0);
        CHECK(bytes(out.begin() + 4, out.end()) == in);
      }
    }
  }
}

TEST_CASE("codec none copies and respects the limit", "[compression]") {
  const bytes in = compressible(50, 5);
  bytes z = compress_ok(compression_codec::none, in);
  CHECK(z == in);
  bytes out;
  REQUIRE(proto::decompress(compression_codec::none, in, out, 50).has_value());
  CHECK(out == in);
  CHECK_FALSE(proto::decompress(compression_codec::none, in, out, 49).has_value());
}

TEST_CASE("an unknown codec is an error", "[compression]") {
  bytes out;
  auto c = static_cast<compression_codec>(5);
  CHECK_FALSE(proto::compress(c, hex("01 02"), out).has_value());
  auto r = proto::decompress(c, hex("01 02"), out, 100);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error(), Catch::Contains("unknown"));
}

TEST_CASE("xerial snappy framing", "[compression][snappy]") {
  SECTION("what we write: magic, versions 1/1, 32 KiB blocks with big-endian lengths") {
    const bytes in = compressible(100 * 1024, 6);  // four blocks: 32 + 32 + 32 + 4 KiB
    const bytes z = compress_ok(compression_codec::snappy, in, true);
    REQUIRE(z.size() > 16);
    CHECK(bytes(z.begin(), z.begin() + 16) == hex("82 'SNAPPY' 00 | 00 00 00 01 | 00 00 00 01"));
    std::size_t pos = 16, blocks = 0;
    while (pos < z.size()) {
      REQUIRE(z.size() - pos >= 4);
      pos += 4 + be32_at(z, pos);
      ++blocks;
    }
    CHECK(pos == z.size());
    CHECK(blocks == 4);
    bytes out;
    REQUIRE(proto::decompress(compression_codec::snappy, z, out, in.size()).has_value());
    CHECK(out == in);
  }
  SECTION("a hand-built stream with two literal-only blocks") {
    // Raw snappy block: uncompressed length varint, then a literal tag ((len - 1) << 2) and the bytes.
    const bytes z = hex("82 'SNAPPY' 00 | 00 00 00 01 | 00 00 00 01 |"
                        "00 00 00 07 | 05 10 'hello' |"
                        "00 00 00 08 | 06 14 ' world'");
    bytes out;
    bool xerial = false;
    REQUIRE(proto::decompress(compression_codec::snappy, z, out, 1000, &xerial).has_value());
    CHECK(xerial);
    CHECK(out == hex("'hello world'"));
    // The same block without the framing is raw snappy.
    out.clear();
    REQUIRE(proto::decompress(compression_codec::snappy, hex("05 10 'hello'"), out, 1000, &xerial).has_value());
    CHECK_FALSE(xerial);
    CHECK(out == hex("'hello'"));
    // Header only: no blocks, no bytes.
    out.clear();
    REQUIRE(proto::decompress(compression_codec::snappy, bytes(z.begin(), z.begin() + 16), out, 1000).has_value());
    CHECK(out.empty());
  }
  SECTION("broken framing") {
    bytes out;
    const char* bad[] = {
        "82 'SNAPPY' 00 | 00 00 00 01",                               // header cut
        "82 'SNAPPY' 00 | 00 00 00 01 | 00 00 00 01 | 00 00 00",      // block length cut
        "82 'SNAPPY' 00 | 00 00 00 01 | 00 00 00 01 | 00 00 00 09 | 05 10 'hello'",  // length past the end
        "82 'SNAPPY' 00 | 00 00 00 01 | 00 00 00 01 | 80 00 00 07 | 05 10 'hello'",  // "negative" length
        "82 'SNAPPY' 00 | 00 00 00 01 | 00 00 00 01 | 00 00 00 07 | 06 10 'hello'",  // block lies about its size
    };
    for (const char* b : bad) {
      INFO(b);
      auto r = proto::decompress(compression_codec::snappy, hex(b), out, 1000);
      REQUIRE_FALSE(r.has_value());
      CHECK_THAT(r.error(), Catch::StartsWith("snappy: "));
    }
    // The limit counts every block together.
    auto r = proto::decompress(compression_codec::snappy,
                               hex("82 'SNAPPY' 00 | 00 00 00 01 | 00 00 00 01 | 00 00 00 07 | 05 10 'hello' |"
                                   "00 00 00 07 | 05 10 'hello'"),
                               out, 9);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains("limit"));
  }
}

TEST_CASE("lz4 writes what Java's KafkaLZ4BlockInputStream reads and reads any frame", "[compression][lz4]") {
  const bytes in = compressible(200000, 7);
  const bytes z = compress_ok(compression_codec::lz4, in);
  REQUIRE(z.size() > 7);
  CHECK(bytes(z.begin(), z.begin() + 4) == hex("04 22 4d 18"));  // frame magic, little endian
  const auto flg = static_cast<unsigned>(z[4]);
  CHECK((flg >> 6) == 1);        // version 01
  CHECK((flg & 0x20) != 0);      // block independence
  CHECK((flg & 0x10) == 0);      // no block checksum
  CHECK((flg & 0x08) == 0);      // no content size
  CHECK((flg & 0x04) == 0);      // no content checksum
  CHECK(((static_cast<unsigned>(z[5]) >> 4) & 7) == 4);  // 64 KiB blocks

  // A frame with linked blocks, content size and checksums (lz4 CLI style) decodes too.
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max256KB;
  prefs.frameInfo.blockMode = LZ4F_blockLinked;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  prefs.frameInfo.contentSize = in.size();
  bytes other(LZ4F_compressFrameBound(in.size(), &prefs));
  const std::size_t n = LZ4F_compressFrame(other.data(), other.size(), in.data(), in.size(), &prefs);
  REQUIRE_FALSE(LZ4F_isError(n));
  other.resize(n);
  bytes out;
  REQUIRE(proto::decompress(compression_codec::lz4, other, out, in.size()).has_value());
  CHECK(out == in);
  // A frame with a content size abandoned midway (limit, truncation) does not spoil the next
  // frame, which has no content size (liblz4 keeps the remaining size across a context reset).
  out.clear();
  CHECK_FALSE(proto::decompress(compression_codec::lz4, other, out, 1000).has_value());
  out.clear();
  CHECK_FALSE(proto::decompress(compression_codec::lz4, bytes(other.begin(), other.begin() + 100), out, in.size())
                  .has_value());
  out.clear();
  REQUIRE(proto::decompress(compression_codec::lz4, z, out, in.size()).has_value());
  CHECK(out == in);
  // A flipped byte in the checksummed frame is caught.
  other[other.size() / 2] ^= std::byte{0x40};
  out.clear();
  CHECK_FALSE(proto::decompress(compression_codec::lz4, other, out, in.size()).has_value());
}

TEST_CASE("zstd frames without a content size decode by streaming", "[compression][zstd]") {
  const bytes in = compressible(500000, 8);
  ZSTD_CCtx* c = ZSTD_createCCtx();
  bytes z(ZSTD_compressBound(in.size()));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  ZSTD_outBuffer ob{z.data(), z.size(), 0};
  // Streaming with flushes and no pledged size: the frame header has no content size.
  std::size_t rest = 0;
  do {
    ib.size = std::min(in.size(), ib.pos + 65536);
    rest = ZSTD_compressStream2(c, &ob, &ib, ib.size == in.size() ? ZSTD_e_end : ZSTD_e_flush);
    REQUIRE_FALSE(ZSTD_isError(rest));
  } while (rest != 0 || ib.pos < in.size());
  ZSTD_freeCCtx(c);
  z.resize(ob.pos);
  REQUIRE(ZSTD_getFrameContentSize(z.data(), z.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
  bytes out;
  REQUIRE(proto::decompress(compression_codec::zstd, z, out, in.size()).has_value());
  CHECK(out == in);
  out.clear();
  auto r = proto::decompress(compression_codec::zstd, z, out, in.size() - 1);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error(), Catch::Contains("limit"));
  // Two frames back to back decode as their concatenation.
  bytes two = z;
  two.insert(two.end(), z.begin(), z.end());
  out.clear();
  REQUIRE(proto::decompress(compression_codec::zstd, two, out, 2 * in.size()).has_value());
  CHECK(out.size() == 2 * in.size());
}

TEST_CASE("gzip: zlib-compatible streams and concatenated members", "[compression][gzip]") {
  const bytes a = compressible(10000, 9), b = compressible(20000, 10);
  bytes z = compress_ok(compression_codec::gzip, a);
  CHECK(bytes(z.begin(), z.begin() + 2) == hex("1f 8b"));
  // Whatever zlib's own gzip writer makes (another level) reads back.
  bytes zl(compressBound(static_cast<uLong>(b.size())) + 64);
  z_stream s{};
  REQUIRE(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(b.data()));
  s.avail_in = static_cast<uInt>(b.size());
  s.next_out = reinterpret_cast<Bytef*>(zl.data());
  s.avail_out = static_cast<uInt>(zl.size());
  REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
  zl.resize(s.total_out);
  deflateEnd(&s);

  bytes both = z;
  both.insert(both.end(), zl.begin(), zl.end());
  bytes out;
  REQUIRE(proto::decompress(compression_codec::gzip, both, out, a.size() + b.size()).has_value());
  bytes expected = a;
  expected.insert(expected.end(), b.begin(), b.end());
  CHECK(out == expected);

  bytes trailing = z;
  trailing.push_back(std::byte{0});
  out.clear();
  auto r = proto::decompress(compression_codec::gzip, trailing, out, 1 << 20);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error(), Catch::Contains("trailing"));
}

TEST_CASE("decompression limits stop bombs", "[compression]") {
  // 16 MiB of zeros compresses to very little; a 1 MiB limit must stop it early.
  const bytes zeros(16 << 20, std::byte{0});
  for (auto c : codecs) {
    for (bool xerial : {false, true}) {
      if (xerial && c != compression_codec::snappy) continue;
      INFO(proto::name_of(c) << " xerial=" << xerial);
      const bytes z = compress_ok(c, zeros, xerial);
      CHECK(z.size() < (4 << 20));
      bytes out;
      auto r = proto::decompress(c, z, out, 1 << 20);
      REQUIRE_FALSE(r.has_value());
      CHECK_THAT(r.error(), Catch::Contains("limit"));
      CHECK(out.size() <= (1u << 20) + 1);
      // Exactly at the limit is fine.
      out.clear();
      const bytes small(1000, std::byte{0});
      REQUIRE(proto::decompress(c, compress_ok(c, small, xerial), out, 1000).has_value());
      CHECK(out == small);
      out.clear();
      CHECK_FALSE(proto::decompress(c, compress_ok(c, small, xerial), out, 999).has_value());
    }
  }
}

TEST_CASE("corrupt and truncated input is an error for every codec", "[compression]") {
  const bytes in = compressible(50000, 11);
  for (auto c : codecs) {
    for (bool xerial : {false, true}) {
      if (xerial && c != compression_codec::snappy) continue;
      INFO(proto::name_of(c) << " xerial=" << xerial);
      const bytes z = compress_ok(c, in, xerial);
      bytes out;
      auto empty = proto::decompress(c, {}, out, 1 << 20);
      CHECK_FALSE(empty.has_value());
      for (std::size_t cut : {std::size_t{1}, std::size_t{5}, z.size() / 2, z.size() - 1}) {
        INFO("cut at " << cut);
        out.clear();
        auto r = proto::decompress(c, bytes(z.begin(), z.begin() + cut), out, 1 << 20);
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error(), Catch::StartsWith(std::string(proto::name_of(c)) + ": "));
      }
      out.clear();
      CHECK_FALSE(proto::decompress(c, hex("'this is not compressed data at all'"), out, 1 << 20).has_value());
    }
  }
}

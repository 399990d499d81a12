// Record-batch codecs over zlib, snappy, liblz4 (frame API) and libzstd (streaming API).
#include "protocol/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <limits>

namespace kgw::protocol {

namespace {

using result = std::expected<void, std::string>;

std::unexpected<std::string> fail(const char* codec, const char* what) {
  return std::unexpected(std::string(codec) + ": " + what);
}

// Kafka batches are sized by an int32; anything larger cannot come from the wire.
constexpr std::size_t max_input = std::numeric_limits<std::int32_t>::max();

inline char* as_chars(std::byte* p) { return reinterpret_cast<char*>(p); }
inline const char* as_chars(const std::byte* p) { return reinterpret_cast<const char*>(p); }

// ---- bounded output ----
//
// Decompression output appended to `out`, grown in steps. The window may reach max_out + 1 bytes:
// producing that one extra byte proves the stream is larger than allowed without decompressing the
// rest of it. The destructor trims `out` to what was produced.
class bounded_output {
 public:
  bounded_output(std::vector<std::byte>& out, std::size_t max_out, std::size_t size_hint)
      : out_(out), base_(out.size()), cap_(max_out == SIZE_MAX ? SIZE_MAX : max_out + 1), max_(max_out) {
    grow(size_hint);
  }
  ~bounded_output() { out_.resize(base_ + used_); }

  std::byte* next() { return out_.data() + base_ + used_; }
  std::size_t free() const { return window_ - used_; }
  // Makes room for more output; false when the window already reached the limit.
  bool ensure_free() {
    if (free() > 0) return true;
    if (window_ >= cap_) return false;
    grow(window_ * 2);
    return free() > 0;
  }
  void produced(std::size_t n) { used_ += n; }
  bool over_limit() const { return used_ > max_; }

 private:
  void grow(std::size_t want) {
    constexpr std::size_t min_step = 4096;
    const std::size_t w = std::min(std::max({want, min_step, window_ * 2}), cap_);
    if (w <= window_) return;
    out_.resize(base_ + w);
    window_ = w;
  }

  std::vector<std::byte>& out_;
  std::size_t base_;
  std::size_t cap_;
  std::size_t max_;
  std::size_t window_ = 0;
  std::size_t used_ = 0;
};

std::unexpected<std::string> limit_error(const char* codec, std::size_t max_out) {
  return std::unexpected(std::string(codec) + ": decompressed size exceeds the limit of " + std::to_string(max_out) +
                         " bytes");
}

// ---- gzip (zlib) ----

struct gzip_contexts {
  z_stream inflater{};
  z_stream deflater{};
  bool inflater_ok = false;
  bool deflater_ok = false;
  gzip_contexts() {
    inflater_ok = inflateInit2(&inflater, 15 + 32) == Z_OK;  // 15 + 32: gzip or zlib header
    deflater_ok = deflateInit2(&deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~gzip_contexts() {
    if (inflater_ok) inflateEnd(&inflater);
    if (deflater_ok) deflateEnd(&deflater);
  }
  gzip_contexts(const gzip_contexts&) = delete;
  gzip_contexts& operator=(const gzip_contexts&) = delete;
};
gzip_contexts& gzip_ctx() {
  thread_local gzip_contexts c;
  return c;
}

result gzip_decompress(bytes_view in, std::vector<std::byte>& out, std::size_t max_out) {
  constexpr const char* codec = "gzip";
  if (in.size() > max_input) return fail(codec, "input too large");
  auto& ctx = gzip_ctx();
  if (!ctx.inflater_ok) return fail(codec, "cannot initialise zlib");
  z_stream& z = ctx.inflater;
  if (inflateReset(&z) != Z_OK) return fail(codec, "cannot reset zlib");

  // ISIZE (the last 4 bytes, little endian) is the size of a single-member stream: a hint only,
  // capped by deflate's best ratio (~1032:1) so a lying trailer cannot force a big allocation.
  std::size_t hint = in.size() * 4;
  if (in.size() >= 18) {
    const auto* t = in.data() + in.size() - 4;
    std::size_t isize = static_cast<std::uint8_t>(t[0]) | static_cast<std::uint8_t>(t[1]) << 8 |
                        static_cast<std::uint8_t>(t[2]) << 16 | static_cast<std::size_t>(static_cast<std::uint8_t>(t[3])) << 24;
    hint = std::min(isize + 1, in.size() * 1032);
  }
  bounded_output o(out, max_out, hint);

  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    if (!o.ensure_free()) return limit_error(codec, max_out);
    const uInt avail = static_cast<uInt>(std::min<std::size_t>(o.free(), UINT_MAX));
    z.next_out = reinterpret_cast<Bytef*>(o.next());
    z.avail_out = avail;
    const int rc = inflate(&z, Z_NO_FLUSH);
    o.produced(avail - z.avail_out);
    if (o.over_limit()) return limit_error(codec, max_out);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) return {};
      // Another gzip member (what `cat a.gz b.gz` makes; Java's GZIPInputStream reads these).
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        if (inflateReset(&z) != Z_OK) return fail(codec, "cannot reset zlib");
        continue;
      }
      return fail(codec, "trailing bytes after the gzip stream");
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      if (z.avail_in == 0) return fail(codec, "truncated stream");
      if (z.avail_out > 0) return fail(codec, "stream makes no progress");
      continue;
    }
    if (rc == Z_NEED_DICT) return fail(codec, "stream needs a preset dictionary");
    return std::unexpected(std::string("gzip: ") + (z.msg ? z.msg : "corrupt stream"));
  }
}

result gzip_compress(bytes_view in, std::vector<std::byte>& out) {
  constexpr const char* codec = "gzip";
  if (in.size() > max_input) return fail(codec, "input too large");
  auto& ctx = gzip_ctx();
  if (!ctx.deflater_ok) return fail(codec, "cannot initialise zlib");
  z_stream& z = ctx.deflater;
  if (deflateReset(&z) != Z_OK) return fail(codec, "cannot reset zlib");
  const std::size_t base = out.size();
  const std::size_t bound = deflateBound(&z, static_cast<uLong>(in.size()));
  out.resize(base + bound);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data() + base);
  z.avail_out = static_cast<uInt>(bound);
  const int rc = deflate(&z, Z_FINISH);  // the bound guarantees one call finishes
  if (rc != Z_STREAM_END) {
    out.resize(base);
    return fail(codec, "deflate did not finish");
  }
  out.resize(base + (bound - z.avail_out));
  return {};
}

// ---- snappy ----

constexpr unsigned char xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
constexpr std::size_t xerial_header_size = 16;  // magic, int32 version, int32 compatible version
constexpr std::size_t xerial_block_size = 32 * 1024;  // snappy-java's SnappyOutputStream default

bool is_xerial(bytes_view in) { return in.size() >= 8 && std::memcmp(in.data(), xerial_magic, 8) == 0; }

inline std::uint32_t read_be32(const std::byte* p) {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[0])) << 24 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[1])) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[2])) << 8 | static_cast<std::uint8_t>(p[3]);
}
inline void write_be32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
}

// One raw snappy block appended to out; `budget` is what the caller may still append.
result snappy_raw_block(bytes_view in, std::vector<std::byte>& out, std::size_t budget, std::size_t max_out) {
  constexpr const char* codec = "snappy";
  std::size_t n = 0;
  if (!snappy::GetUncompressedLength(as_chars(in.data()), in.size(), &n)) return fail(codec, "corrupt block header");
  if (n > budget) return limit_error(codec, max_out);
  const std::size_t base = out.size();
  out.resize(base + n);
  if (!snappy::RawUncompress(as_chars(in.data()), in.size(), as_chars(out.data() + base))) {
    out.resize(base);
    return fail(codec, "corrupt block");
  }
  return {};
}

result snappy_decompress(bytes_view in, std::vector<std::byte>& out, std::size_t max_out, bool* xerial) {
  constexpr const char* codec = "snappy";
  if (in.size() > max_input) return fail(codec, "input too large");
  const bool framed = is_xerial(in);
  if (xerial) *xerial = framed;
  if (!framed) return snappy_raw_block(in, out, max_out, max_out);

  if (in.size() < xerial_header_size) return fail(codec, "truncated xerial header");
  const std::size_t base = out.size();
  std::size_t pos = xerial_header_size;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return fail(codec, "truncated xerial block length");
    const std::uint32_t len = read_be32(in.data() + pos);
    pos += 4;
    if (len > in.size() - pos) return fail(codec, "xerial block length exceeds the input");
    auto r = snappy_raw_block(in.subspan(pos, len), out, max_out - (out.size() - base), max_out);
    if (!r) return r;
    pos += len;
  }
  return {};
}

result snappy_compress(bytes_view in, std::vector<std::byte>& out, bool xerial) {
  constexpr const char* codec = "snappy";
  if (in.size() > max_input) return fail(codec, "input too large");
  const std::size_t base = out.size();
  if (!xerial) {
    out.resize(base + snappy::MaxCompressedLength(in.size()));
    std::size_t n = 0;
    snappy::RawCompress(as_chars(in.data()), in.size(), as_chars(out.data() + base), &n);
    out.resize(base + n);
    return {};
  }
  const std::size_t blocks = (in.size() + xerial_block_size - 1) / xerial_block_size;
  out.resize(base + xerial_header_size + blocks * (4 + snappy::MaxCompressedLength(xerial_block_size)));
  std::byte* p = out.data() + base;
  std::memcpy(p, xerial_magic, 8);
  write_be32(p + 8, 1);   // version
  write_be32(p + 12, 1);  // compatible version
  std::size_t pos = xerial_header_size;
  for (std::size_t off = 0; off < in.size(); off += xerial_block_size) {
    const std::size_t chunk = std::min(xerial_block_size, in.size() - off);
    std::size_t n = 0;
    snappy::RawCompress(as_chars(in.data() + off), chunk, as_chars(p + pos + 4), &n);
    write_be32(p + pos, static_cast<std::uint32_t>(n));
    pos += 4 + n;
  }
  out.resize(base + pos);
  return {};
}

// ---- lz4 (frame format) ----

struct lz4_contexts {
  LZ4F_dctx* d = nullptr;
  LZ4F_cctx* c = nullptr;
  lz4_contexts() {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) d = nullptr;
    if (LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION))) c = nullptr;
  }
  ~lz4_contexts() {
    if (d) LZ4F_freeDecompressionContext(d);
    if (c) LZ4F_freeCompressionContext(c);
  }
  lz4_contexts(const lz4_contexts&) = delete;
  lz4_contexts& operator=(const lz4_contexts&) = delete;
};
lz4_contexts& lz4_ctx() {
  thread_local lz4_contexts c;
  return c;
}

result lz4_decompress_frames(LZ4F_dctx* d, bytes_view in, std::vector<std::byte>& out, std::size_t max_out) {
  constexpr const char* codec = "lz4";
  if (in.size() > max_input) return fail(codec, "input too large");
  if (in.empty()) return fail(codec, "empty input");
  LZ4F_resetDecompressionContext(d);
  bounded_output o(out, max_out, in.size() * 4);
  const std::byte* src = in.data();
  std::size_t left = in.size();
  std::size_t hint = 1;  // 0 once a frame ended exactly
  while (left > 0 || hint != 0) {
    if (!o.ensure_free()) return limit_error(codec, max_out);
    std::size_t dst_size = o.free();
    std::size_t src_size = left;
    hint = LZ4F_decompress(d, o.next(), &dst_size, src, &src_size, nullptr);
    if (LZ4F_isError(hint)) return std::unexpected(std::string("lz4: ") + LZ4F_getErrorName(hint));
    o.produced(dst_size);
    if (o.over_limit()) return limit_error(codec, max_out);
    src += src_size;
    left -= src_size;
    // Input gone and the output had room: the frame needs bytes that are not there.
    if (left == 0 && hint != 0 && o.free() > 0) return fail(codec, "truncated frame");
    if (src_size == 0 && dst_size == 0 && left > 0) return fail(codec, "frame makes no progress");
  }
  return {};
}

result lz4_decompress(bytes_view in, std::vector<std::byte>& out, std::size_t max_out) {
  lz4_contexts& ctx = lz4_ctx();
  if (!ctx.d) return fail("lz4", "cannot create a decompression context");
  auto r = lz4_decompress_frames(ctx.d, in, out, max_out);
  if (!r) {
    // A frame abandoned midway leaves state that LZ4F_resetDecompressionContext (liblz4 1.9.4)
    // does not clear: the remaining content size of a frame that declared one, which then fails
    // the next frame without a size. Failures are rare, so start over with a fresh context.
    LZ4F_freeDecompressionContext(ctx.d);
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx.d, LZ4F_VERSION))) ctx.d = nullptr;
  }
  return r;
}

result lz4_compress(bytes_view in, std::vector<std::byte>& out) {
  constexpr const char* codec = "lz4";
  if (in.size() > max_input) return fail(codec, "input too large");
  LZ4F_cctx* c = lz4_ctx().c;
  if (!c) return fail(codec, "cannot create a compression context");
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;  // Java decodes each block on its own
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.frameInfo.frameType = LZ4F_frame;
  prefs.compressionLevel = 0;  // fast: this runs on the gateway's hot path
  prefs.autoFlush = 1;         // no internal buffering, so the frame bound covers begin+update+end

  const std::size_t base = out.size();
  const std::size_t bound = LZ4F_compressFrameBound(in.size(), &prefs);
  out.resize(base + bound);
  std::byte* dst = out.data() + base;
  std::size_t pos = 0;
  auto step = [&](std::size_t r) {
    if (LZ4F_isError(r)) return false;
    pos += r;
    return true;
  };
  if (!step(LZ4F_compressBegin(c, dst, bound, &prefs)) ||
      !step(LZ4F_compressUpdate(c, dst + pos, bound - pos, in.data(), in.size(), nullptr)) ||
      !step(LZ4F_compressEnd(c, dst + pos, bound - pos, nullptr))) {
    out.resize(base);
    return fail(codec, "compression failed");
  }
  out.resize(base + pos);
  return {};
}

// ---- zstd ----

struct zstd_contexts {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ~zstd_contexts() {
    ZSTD_freeDCtx(d);
    ZSTD_freeCCtx(c);
  }
  zstd_contexts() = default;
  zstd_contexts(const zstd_contexts&) = delete;
  zstd_contexts& operator=(const zstd_contexts&) = delete;
};
zstd_contexts& zstd_ctx() {
  thread_local zstd_contexts c;
  return c;
}

// Kafka's default zstd level (compression.zstd.level).
constexpr int zstd_level = 3;

result zstd_decompress(bytes_view in, std::vector<std::byte>& out, std::size_t max_out) {
  constexpr const char* codec = "zstd";
  if (in.size() > max_input) return fail(codec, "input too large");
  if (in.empty()) return fail(codec, "empty input");
  ZSTD_DCtx* d = zstd_ctx().d;
  if (!d) return fail(codec, "cannot create a decompression context");
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  // The window is memory the decoder allocates up front from a header field. A frame never needs
  // a window larger than its content; 2^23 covers every non-ultra level of a streaming encoder that
  // does not know the size, so limit it to that or the output limit, whichever is larger.
  const std::size_t bits = max_out >= (std::size_t{1} << 27) ? 27 : std::bit_width(max_out);
  ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, static_cast<int>(std::clamp<std::size_t>(bits, 23, 27)));

  std::size_t hint = in.size() * 4;
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != ZSTD_CONTENTSIZE_ERROR) {
    if (content > max_out) return limit_error(codec, max_out);
    hint = static_cast<std::size_t>(content) + 1;  // +1: a second frame or a lie shows at once
  }
  bounded_output o(out, max_out, hint);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  std::size_t r = 1;
  while (ib.pos < ib.size || r != 0) {
    if (!o.ensure_free()) return limit_error(codec, max_out);
    ZSTD_outBuffer ob{o.next(), o.free(), 0};
    const std::size_t in_before = ib.pos;
    r = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(r)) return std::unexpected(std::string("zstd: ") + ZSTD_getErrorName(r));
    o.produced(ob.pos);
    if (o.over_limit()) return limit_error(codec, max_out);
    // A frame still open with all input consumed and output room left: it is truncated.
    if (r != 0 && ib.pos == ib.size && ob.pos < ob.size) return fail(codec, "truncated frame");
    if (ib.pos == in_before && ob.pos == 0 && r != 0 && ob.size > 0) return fail(codec, "frame makes no progress");
  }
  return {};
}

result zstd_compress(bytes_view in, std::vector<std::byte>& out) {
  constexpr const char* codec = "zstd";
  if (in.size() > max_input) return fail(codec, "input too large");
  ZSTD_CCtx* c = zstd_ctx().c;
  if (!c) return fail(codec, "cannot create a compression context");
  const std::size_t base = out.size();
  const std::size_t bound = ZSTD_compressBound(in.size());
  out.resize(base + bound);
  const std::size_t n = ZSTD_compressCCtx(c, out.data() + base, bound, in.data(), in.size(), zstd_level);
  if (ZSTD_isError(n)) {
    out.resize(base);
    return std::unexpected(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  out.resize(base + n);
  return {};
}

}  // namespace

const char* name_of(compression_codec c) {
  switch (c) {
    case compression_codec::none: return "none";
    case compression_codec::gzip: return "gzip";
    case compression_codec::snappy: return "snappy";
    case compression_codec::lz4: return "lz4";
    case compression_codec::zstd: return "zstd";
  }
  return "unknown";
}

std::expected<void, std::string> decompress(compression_codec c, bytes_view in, std::vector<std::byte>& out,
                                            std::size_t max_out, bool* snappy_xerial) {
  if (snappy_xerial) *snappy_xerial = false;
  switch (c) {
    case compression_codec::none:
      if (in.size() > max_out) return limit_error("none", max_out);
      out.insert(out.end(), in.begin(), in.end());
      return {};
    case compression_codec::gzip: return gzip_decompress(in, out, max_out);
    case compression_codec::snappy: return snappy_decompress(in, out, max_out, snappy_xerial);
    case compression_codec::lz4: return lz4_decompress(in, out, max_out);
    case compression_codec::zstd: return zstd_decompress(in, out, max_out);
  }
  return std::unexpected("unknown compression codec " + std::to_string(static_cast<int>(c)));
}

std::expected<void, std::string> compress(compression_codec c, bytes_view in, std::vector<std::byte>& out,
                                          bool snappy_xerial) {
  switch (c) {
    case compression_codec::none: out.insert(out.end(), in.begin(), in.end()); return {};
    case compression_codec::gzip: return gzip_compress(in, out);
    case compression_codec::snappy: return snappy_compress(in, out, snappy_xerial);
    case compression_codec::lz4: return lz4_compress(in, out);
    case compression_codec::zstd: return zstd_compress(in, out);
  }
  return std::unexpected("unknown compression codec " + std::to_string(static_cast<int>(c)));
}

}  // namespace kgw::protocol

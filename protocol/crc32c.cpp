// CRC-32C: SSE4.2 with three interleaved streams, or a portable slice-by-8 table.
#include "protocol/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define KGW_CRC32C_X86 1
#endif

namespace kgw::protocol {

namespace {

constexpr std::uint32_t poly = 0x82f63b78;  // Castagnoli, bit-reflected

// ---- portable: slice-by-8 ----

using slice_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr slice_tables make_slice_tables() {
  slice_tables t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? poly : 0);
    t[0][n] = c;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t n = 0; n < 256; ++n) t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xff];
  return t;
}

constexpr slice_tables slice = make_slice_tables();

inline std::uint64_t load_le64(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  return v;
}

std::uint32_t portable(const std::byte* p, std::size_t n, std::uint32_t crc) {
  crc = ~crc;
  while (n && (reinterpret_cast<std::uintptr_t>(p) & 7)) {
    crc = slice[0][(crc ^ static_cast<std::uint8_t>(*p++)) & 0xff] ^ (crc >> 8);
    --n;
  }
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint64_t w = load_le64(p);
    const auto lo = static_cast<std::uint32_t>(w) ^ crc;
    const auto hi = static_cast<std::uint32_t>(w >> 32);
    crc = slice[7][lo & 0xff] ^ slice[6][(lo >> 8) & 0xff] ^ slice[5][(lo >> 16) & 0xff] ^ slice[4][lo >> 24] ^
          slice[3][hi & 0xff] ^ slice[2][(hi >> 8) & 0xff] ^ slice[1][(hi >> 16) & 0xff] ^ slice[0][hi >> 24];
  }
  while (n--) crc = slice[0][(crc ^ static_cast<std::uint8_t>(*p++)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

#if KGW_CRC32C_X86

// ---- hardware: three streams, joined by "append N zero bytes" operators ----
//
// The crc32 instruction has a latency of 3 cycles but a throughput of 1, so one stream uses a
// third of the unit. Three independent streams over adjacent chunks run in parallel; the register
// of stream A is then advanced over the length of chunk B (a linear map over GF(2), applied with
// four byte-indexed tables) and XORed with stream B's register.

constexpr std::size_t long_chunk = 8192;
constexpr std::size_t short_chunk = 256;

using gf2_matrix = std::array<std::uint32_t, 32>;  // column n: image of bit n

std::uint32_t gf2_times(const gf2_matrix& m, std::uint32_t v) {
  std::uint32_t sum = 0;
  for (int n = 0; v; ++n, v >>= 1)
    if (v & 1) sum ^= m[n];
  return sum;
}
gf2_matrix gf2_compose(const gf2_matrix& a, const gf2_matrix& b) {  // a after b
  gf2_matrix r{};
  for (int n = 0; n < 32; ++n) r[n] = gf2_times(a, b[n]);
  return r;
}

using shift_tables = std::array<std::array<std::uint32_t, 256>, 4>;

// Tables that advance a raw CRC register over `len` zero bytes.
shift_tables make_shift_tables(std::size_t len) {
  gf2_matrix bit{};  // one zero bit: r -> (r >> 1) ^ (r & 1 ? poly : 0)
  bit[0] = poly;
  for (int n = 1; n < 32; ++n) bit[n] = 1u << (n - 1);
  gf2_matrix base = bit;
  for (int i = 0; i < 3; ++i) base = gf2_compose(base, base);  // one zero byte
  gf2_matrix op{};
  for (int n = 0; n < 32; ++n) op[n] = 1u << n;  // identity
  for (; len; len >>= 1, base = gf2_compose(base, base))
    if (len & 1) op = gf2_compose(base, op);
  shift_tables t{};
  for (std::uint32_t n = 0; n < 256; ++n)
    for (int k = 0; k < 4; ++k) t[k][n] = gf2_times(op, n << (8 * k));
  return t;
}

struct hw_tables {
  shift_tables long_shift = make_shift_tables(long_chunk);
  shift_tables short_shift = make_shift_tables(short_chunk);
};
const hw_tables& tables() {
  static const hw_tables t;
  return t;
}

inline std::uint32_t shift(const shift_tables& t, std::uint32_t crc) {
  return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

inline std::uint64_t load64(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

template <std::size_t chunk>
__attribute__((target("sse4.2"))) inline void three_way(const shift_tables& t, std::uint64_t& c0,
                                                         const std::byte*& p, std::size_t& n) {
  while (n >= 3 * chunk) {
    std::uint64_t c1 = 0, c2 = 0;
    for (const std::byte* end = p + chunk; p < end; p += 8) {
      c0 = _mm_crc32_u64(c0, load64(p));
      c1 = _mm_crc32_u64(c1, load64(p + chunk));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * chunk));
    }
    c0 = shift(t, static_cast<std::uint32_t>(c0)) ^ static_cast<std::uint32_t>(c1);
    c0 = shift(t, static_cast<std::uint32_t>(c0)) ^ static_cast<std::uint32_t>(c2);
    p += 2 * chunk;
    n -= 3 * chunk;
  }
}

__attribute__((target("sse4.2"))) std::uint32_t hardware(const std::byte* p, std::size_t n, std::uint32_t crc) {
  std::uint64_t c0 = ~crc;
  while (n && (reinterpret_cast<std::uintptr_t>(p) & 7)) {
    c0 = _mm_crc32_u8(static_cast<std::uint32_t>(c0), static_cast<std::uint8_t>(*p++));
    --n;
  }
  if (n >= 3 * short_chunk) {
    const hw_tables& t = tables();
    three_way<long_chunk>(t.long_shift, c0, p, n);
    three_way<short_chunk>(t.short_shift, c0, p, n);
  }
  for (; n >= 8; n -= 8, p += 8) c0 = _mm_crc32_u64(c0, load64(p));
  while (n--) c0 = _mm_crc32_u8(static_cast<std::uint32_t>(c0), static_cast<std::uint8_t>(*p++));
  return ~static_cast<std::uint32_t>(c0);
}

bool detect_sse42() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

#endif  // KGW_CRC32C_X86

using crc_fn = std::uint32_t (*)(const std::byte*, std::size_t, std::uint32_t);

crc_fn choose() {
#if KGW_CRC32C_X86
  if (detect_sse42()) {
    tables();  // build the shift tables now, not on some later hot call
    return hardware;
  }
#endif
  return portable;
}

}  // namespace

std::uint32_t crc32c(bytes_view data, std::uint32_t crc) {
  static const crc_fn impl = choose();
  return impl(data.data(), data.size(), crc);
}

namespace detail {

std::uint32_t crc32c_portable(bytes_view data, std::uint32_t crc) { return portable(data.data(), data.size(), crc); }

bool crc32c_hardware_available() {
#if KGW_CRC32C_X86
  static const bool available = detect_sse42();
  return available;
#else
  return false;
#endif
}

std::uint32_t crc32c_hardware(bytes_view data, std::uint32_t crc) {
#if KGW_CRC32C_X86
  if (crc32c_hardware_available()) return hardware(data.data(), data.size(), crc);
#endif
  return portable(data.data(), data.size(), crc);
}

}  // namespace detail

}  // namespace kgw::protocol

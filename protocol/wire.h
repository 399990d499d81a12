#pragma once
// Kafka wire primitives shared by the generated codec, the record-batch code and the gateway.
//
// reader: bounds-checked, returns views into the buffer it reads (no copies). Errors are sticky:
//   the first failed read records what and where, every later read returns a zero value, and the
//   caller checks ok() once at the end. A lying length or count can never cause an over-read or a
//   huge allocation (counts are checked against the bytes left).
// writer: builds a message as owned bytes plus borrowed slices (scatter-gather), so a re-encoded
//   response can point at the record bytes of the frame it came from instead of copying them.
//   Lengths that are only known afterwards are back-patched (reserve_i32 / patch_i32).
//
// Threading: plain values; one thread uses a reader or writer at a time. A borrowed slice must
// outlive the writer's output.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::protocol {

using bytes_view = std::span<const std::byte>;
using uuid = std::array<std::byte, 16>;

// first_flexible of a message (and api_info) that has no flexible version: larger than any
// version, so `version >= first_flexible` is simply false.
inline constexpr std::int16_t never_flexible = 0x7fff;

inline bytes_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string(bytes_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

struct decode_error {
  const char* what = nullptr;  // static string
  std::size_t offset = 0;      // byte offset in the buffer where the read failed
};

// A tagged field the codec does not know (or one it keeps opaque): kept so re-encoding is lossless.
struct raw_tagged_field {
  std::uint32_t tag = 0;
  bytes_view data;
  bool operator==(const raw_tagged_field& o) const {
    return tag == o.tag && data.size() == o.data.size() &&
           (data.empty() || std::memcmp(data.data(), o.data.data(), data.size()) == 0);
  }
};

class reader {
 public:
  reader() = default;
  explicit reader(bytes_view buf) : begin_(buf.data()), p_(buf.data()), end_(buf.data() + buf.size()) {}

  bool ok() const { return !error_.what; }
  const decode_error& error() const { return error_; }
  std::size_t position() const { return static_cast<std::size_t>(p_ - begin_); }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  bytes_view rest() const { return {p_, remaining()}; }
  // Marks the reader failed (first error wins) and moves to the end so nothing more is read.
  void fail(const char* what) {
    if (!error_.what) error_ = {what, position()};
    p_ = end_;
  }

  std::int8_t i8() { return static_cast<std::int8_t>(fixed<std::uint8_t>()); }
  std::int16_t i16() { return static_cast<std::int16_t>(fixed<std::uint16_t>()); }
  std::uint16_t u16() { return fixed<std::uint16_t>(); }
  std::int32_t i32() { return static_cast<std::int32_t>(fixed<std::uint32_t>()); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed<std::uint64_t>()); }
  double f64() {
    std::uint64_t v = fixed<std::uint64_t>();
    double d;
    std::memcpy(&d, &v, sizeof d);
    return d;
  }
  bool boolean() { return i8() != 0; }
  uuid read_uuid() {
    uuid u{};
    bytes_view b = raw(16);
    if (b.size() == 16) std::memcpy(u.data(), b.data(), 16);
    return u;
  }

  std::uint64_t uvarlong() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) {
        fail("truncated varint");
        return 0;
      }
      auto b = static_cast<std::uint8_t>(*p_++);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint too long");
    return 0;
  }
  std::uint32_t uvarint() {
    std::uint64_t v = uvarlong();
    if (v > 0xffffffffull) {
      fail("varint out of range");
      return 0;
    }
    return static_cast<std::uint32_t>(v);
  }
  std::int32_t varint() {  // zig-zag
    std::uint32_t v = uvarint();
    return static_cast<std::int32_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::int64_t varlong() {  // zig-zag
    std::uint64_t v = uvarlong();
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }

  bytes_view raw(std::size_t n) {
    if (n > remaining()) {
      fail("truncated");
      return {};
    }
    bytes_view v{p_, n};
    p_ += n;
    return v;
  }
  void skip(std::size_t n) { raw(n); }

  // Length of a string/bytes field: -1 for null. compact = flexible-version encoding (uvarint N+1).
  std::int64_t length(bool compact, bool wide) {
    if (compact) return static_cast<std::int64_t>(uvarint()) - 1;
    return wide ? i32() : i16();
  }
  std::optional<std::string_view> nullable_string(bool compact) {
    std::int64_t n = length(compact, false);
    if (n < 0) {
      if (n < -1) fail("negative string length");
      return std::nullopt;
    }
    return as_string(raw(static_cast<std::size_t>(n)));
  }
  std::string_view string(bool compact) {
    auto s = nullable_string(compact);
    if (!s) {
      fail("null in non-nullable string");
      return {};
    }
    return *s;
  }
  std::optional<bytes_view> nullable_bytes(bool compact) {
    std::int64_t n = length(compact, true);
    if (n < 0) {
      if (n < -1) fail("negative bytes length");
      return std::nullopt;
    }
    return raw(static_cast<std::size_t>(n));
  }
  bytes_view bytes(bool compact) {
    auto b = nullable_bytes(compact);
    if (!b) {
      fail("null in non-nullable bytes");
      return {};
    }
    return *b;
  }
  // Element count of an array: -1 for null. A count larger than the bytes left is a lie (every
  // element takes at least one byte), so it fails here instead of driving a huge allocation.
  std::int32_t array_length(bool compact) {
    std::int64_t n = compact ? static_cast<std::int64_t>(uvarint()) - 1 : i32();
    if (n < -1) {
      fail("negative array length");
      return -1;
    }
    if (n > static_cast<std::int64_t>(remaining())) {
      fail("array length exceeds frame");
      return -1;
    }
    return static_cast<std::int32_t>(n);
  }

 private:
  template <class T>
  T fixed() {
    if (remaining() < sizeof(T)) {
      fail("truncated");
      return 0;
    }
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | static_cast<std::uint8_t>(p_[i]));
    p_ += sizeof(T);
    return v;
  }

  const std::byte* begin_ = nullptr;
  const std::byte* p_ = nullptr;
  const std::byte* end_ = nullptr;
  decode_error error_{};
};

class writer {
 public:
  void i8(std::int8_t v) { fixed(static_cast<std::uint8_t>(v)); }
  void i16(std::int16_t v) { fixed(static_cast<std::uint16_t>(v)); }
  void u16(std::uint16_t v) { fixed(v); }
  void i32(std::int32_t v) { fixed(static_cast<std::uint32_t>(v)); }
  void u32(std::uint32_t v) { fixed(v); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v)); }
  void f64(double d) {
    std::uint64_t v;
    std::memcpy(&v, &d, sizeof v);
    fixed(v);
  }
  void boolean(bool v) { i8(v ? 1 : 0); }
  void write_uuid(const uuid& u) { append({u.data(), u.size()}); }

  void uvarlong(std::uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<std::byte>(v));
  }
  void uvarint(std::uint32_t v) { uvarlong(v); }
  void varint(std::int32_t v) { uvarint((static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31)); }
  void varlong(std::int64_t v) { uvarlong((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }

  void length(std::int64_t n, bool compact, bool wide) {
    if (compact)
      uvarlong(static_cast<std::uint64_t>(n + 1));
    else if (wide)
      i32(static_cast<std::int32_t>(n));
    else
      i16(static_cast<std::int16_t>(n));
  }
  void string(std::string_view s, bool compact) {
    length(static_cast<std::int64_t>(s.size()), compact, false);
    append(as_bytes(s));
  }
  void nullable_string(const std::optional<std::string_view>& s, bool compact) {
    if (!s)
      length(-1, compact, false);
    else
      string(*s, compact);
  }
  // borrow=true references the bytes instead of copying them (records, large blobs).
  void bytes(bytes_view b, bool compact, bool borrow = false) {
    length(static_cast<std::int64_t>(b.size()), compact, true);
    if (borrow)
      this->borrow(b);
    else
      append(b);
  }
  void nullable_bytes(const std::optional<bytes_view>& b, bool compact, bool borrow = false) {
    if (!b)
      length(-1, compact, true);
    else
      bytes(*b, compact, borrow);
  }
  void array_length(std::int64_t n, bool compact) {  // n == -1: null array
    if (compact)
      uvarlong(static_cast<std::uint64_t>(n + 1));
    else
      i32(static_cast<std::int32_t>(n));
  }

  void append(bytes_view b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void append(std::string_view s) { append(as_bytes(s)); }
  // Appends by reference: the bytes are not copied and must outlive the output of slices().
  void borrow(bytes_view b) {
    if (b.empty()) return;
    borrowed_.push_back({buf_.size(), b});
    borrowed_size_ += b.size();
  }

  // Takes ownership of bytes the message borrows (records a policy re-encoded), so they live as
  // long as the writer. Moving a vector keeps its bytes where they are.
  void keep(std::vector<std::byte>&& b) { kept_.push_back(std::move(b)); }

  // Reserves 4 bytes for a length known only later; returns the position for patch_i32.
  std::size_t reserve_i32() {
    std::size_t pos = buf_.size();
    fixed<std::uint32_t>(0);
    return pos;
  }
  void patch_i32(std::size_t pos, std::int32_t v) {
    auto u = static_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) buf_[pos + i] = static_cast<std::byte>(u >> (24 - 8 * i));
  }
  // Owned-byte position (excludes borrowed slices): for reserve/patch bookkeeping.
  std::size_t owned_size() const { return buf_.size(); }
  // Total encoded size, borrowed slices included.
  std::size_t size() const { return buf_.size() + borrowed_size_; }
  bool has_borrowed() const { return !borrowed_.empty(); }

  // The message as an ordered list of slices (owned runs interleaved with borrowed ones).
  // Valid until the writer is modified or destroyed.
  std::vector<bytes_view> slices() const {
    std::vector<bytes_view> out;
    out.reserve(borrowed_.size() * 2 + 1);
    std::size_t pos = 0;
    for (const auto& b : borrowed_) {
      if (b.at > pos) out.emplace_back(buf_.data() + pos, b.at - pos);
      out.push_back(b.data);
      pos = b.at;
    }
    if (buf_.size() > pos) out.emplace_back(buf_.data() + pos, buf_.size() - pos);
    return out;
  }
  // The message as one contiguous copy (tests, small messages).
  std::vector<std::byte> flatten() const {
    std::vector<std::byte> out;
    out.reserve(size());
    for (auto s : slices()) out.insert(out.end(), s.begin(), s.end());
    return out;
  }
  // Owned bytes only; valid when nothing was borrowed.
  const std::vector<std::byte>& owned() const { return buf_; }

 private:
  template <class T>
  void fixed(T v) {
    for (int i = sizeof(T) - 1; i >= 0; --i) buf_.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  struct borrowed_slice {
    std::size_t at;  // owned-buffer position the slice goes before
    bytes_view data;
  };
  std::vector<std::byte> buf_;
  std::vector<borrowed_slice> borrowed_;
  std::size_t borrowed_size_ = 0;
  std::vector<std::vector<std::byte>> kept_;
};

}  // namespace kgw::protocol

#pragma once
// Receive buffer for size-prefixed Kafka frames. Frames are parsed in place and forwarded from
// here (no copy); the buffer compacts only between reads, after everything parsed was written.
// Threading: owned by one session direction.
#include <cstddef>
#include <algorithm>
#include <cstring>
#include <vector>

#include "protocol/wire.h"

namespace kgw::gateway {

class frame_buffer {
 public:
  static constexpr std::size_t min_read = 64 * 1024;

  protocol::bytes_view data() const { return {buf_.data() + head_, tail_ - head_}; }
  // Space to read into, at least `need` bytes (and min_read when cheap): compacts, then grows.
  std::span<std::byte> prepare(std::size_t need) {
    const std::size_t want = std::max(need, min_read);
    if (buf_.size() - tail_ < want) {
      if (head_ > 0) {
        std::memmove(buf_.data(), buf_.data() + head_, tail_ - head_);
        tail_ -= head_;
        head_ = 0;
      }
      if (buf_.size() - tail_ < want) buf_.resize(tail_ + want);
    }
    return {buf_.data() + tail_, buf_.size() - tail_};
  }
  void commit(std::size_t n) { tail_ += n; }
  void consume(std::size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }
  // After a large frame, give the memory back once nothing is pending.
  void shrink() {
    if (head_ == tail_ && buf_.size() > 4 * min_read) {
      buf_.clear();
      buf_.shrink_to_fit();
      head_ = tail_ = 0;
    }
  }

 private:
  std::vector<std::byte> buf_;
  std::size_t head_ = 0, tail_ = 0;
};

inline std::int32_t read_be32(const std::byte* p) {
  return static_cast<std::int32_t>((static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
                                   (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]));
}
inline void write_be32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
}
inline std::int16_t read_be16(const std::byte* p) {
  return static_cast<std::int16_t>((static_cast<std::uint16_t>(p[0]) << 8) | static_cast<std::uint16_t>(p[1]));
}

}  // namespace kgw::gateway

#pragma once
// Receive buffer for size-prefixed Kafka frames. Frames are parsed in place and forwarded from
// here (no copy); the buffer compacts only between reads, after everything parsed was written.
// It grows only as bytes arrive (at most doubling what is buffered per read), so a size prefix
// alone costs nothing; a client connection's buffer also reserves large requests from the
// process-wide request_memory_budget before growing for them.
// Threading: a frame_buffer is owned by one session direction (one thread); the budget is
// shared by all workers and lock-free.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "gateway/buffer_spares.h"
#include "protocol/wire.h"

namespace kgw::gateway {

// The bytes that requests still arriving may hold across the process (Kafka's
// queued.max.request.bytes). A large request reserves its whole declared size when it starts
// to need more than a connection's base buffer, so every connection holding a reservation can
// finish its request: reservations cannot deadlock each other, and a connection that cannot
// reserve just stops reading until others finish.
class request_memory_budget {
 public:
  explicit request_memory_budget(std::size_t limit) : limit_(limit) {}
  bool try_reserve(std::size_t n) {
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ - std::min(used, limit_)) return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  void release(std::size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// Bytes a read is about to overwrite need no zeroing: a governed Fetch response is read whole,
// and resizing a std::vector for it zero-filled up to its full size on every response (~2% of a
// decrypting gateway's CPU). Default-initialising std::byte leaves it as it is.
template <class T>
struct uninitialized_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = uninitialized_allocator<U>;
  };
  uninitialized_allocator() = default;
  template <class U>
  uninitialized_allocator(const uninitialized_allocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(args)...);
  }
};

using byte_buffer = std::vector<std::byte, uninitialized_allocator<std::byte>>;

// Buffers released on this worker thread, for the next frame_buffer of the thread that reads.
// A governed Fetch response (up to a few MiB) is read whole into its broker connection's
// buffer, which is released once it was handled (an idle connection holds none); fresh memory
// for each next response cost page faults (~9% of the CPU of a gateway serving four consumer
// groups from the transform cache). At most 16 buffers, 8 MiB each, 16 MiB in all.
// Threading: thread_local; buffers move between the frame_buffers of one thread.
inline buffer_spares<byte_buffer>& spare_buffers() {
  thread_local buffer_spares<byte_buffer> spares(16, 8u << 20, 16u << 20);
  return spares;
}

class frame_buffer {
 public:
  static constexpr std::size_t min_read = 64 * 1024;
  // Frames up to this size need no reservation: every connection may hold this much.
  static constexpr std::size_t unreserved_frame = 2 * min_read;

  frame_buffer() = default;
  frame_buffer(const frame_buffer&) = delete;
  frame_buffer& operator=(const frame_buffer&) = delete;
  ~frame_buffer() { reserve_frame(0); }

  // For a buffer of untrusted input (a client's requests): grow only as bytes arrive, and
  // reserve large frames from budget (null: growth paced, but no budget).
  void pace_growth(request_memory_budget* budget) {
    paced_ = true;
    budget_ = budget;
  }
  // Reserves from the budget for a frame of frame_bytes at the front of the buffer; a smaller
  // frame (or 0) gives back what an earlier one held. false: no room now (read later).
  // A frame needs its reservation only once min_read of it arrived (the base buffer holds that
  // much anyway): a size prefix alone reserves nothing.
  bool reserve_frame(std::size_t frame_bytes) {
    if (!budget_) return true;
    if (frame_bytes > unreserved_frame && reserved_ == frame_bytes) return true;
    const std::size_t want = frame_bytes > unreserved_frame && tail_ - head_ >= min_read ? frame_bytes : 0;
    if (want == reserved_) return true;
    if (want < reserved_) {
      budget_->release(reserved_ - want);
    } else if (!budget_->try_reserve(want - reserved_)) {
      return false;
    }
    reserved_ = want;
    return true;
  }

  protocol::bytes_view data() const { return {buf_.data() + head_, tail_ - head_}; }
  // The bytes of `v` (a view returned by data()) to change in place before they are forwarded.
  std::span<std::byte> writable(protocol::bytes_view v) {
    const auto at = static_cast<std::size_t>(v.data() - buf_.data());
    return {buf_.data() + at, v.size()};
  }
  // Space to read `need` more bytes into (at least min_read): compacts, then grows. Paced, it
  // grows by at most what is buffered, so memory follows the bytes that arrived, not what a
  // size prefix declared; otherwise (a broker's responses) to the whole need at once.
  std::span<std::byte> prepare(std::size_t need) {
    const std::size_t buffered = tail_ - head_;
    const std::size_t want = paced_ ? std::max(min_read, std::min(need, std::max(min_read, buffered)))
                                    : std::max(need, min_read);
    if (buf_.capacity() == 0) buf_ = spare_buffers().take(want);
    if (buf_.size() - tail_ < want) {
      if (head_ > 0) {
        std::memmove(buf_.data(), buf_.data() + head_, buffered);
        tail_ = buffered;
        head_ = 0;
      }
      if (buf_.size() - tail_ < want) grow(tail_ + want);
    }
    return {buf_.data() + tail_, buf_.size() - tail_};
  }
  void commit(std::size_t n) { tail_ += n; }
  void consume(std::size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }
  // Nothing buffered and the connection about to wait: all the memory goes back (an idle
  // connection holds no buffer; the next read allocates min_read again).
  void release() {
    if (head_ == tail_) {
      spare_buffers().give(std::move(buf_));
      byte_buffer().swap(buf_);
      head_ = tail_ = 0;
    }
  }
  // After a large frame, give the memory back once nothing is pending.
  void shrink() {
    if (buf_.size() > 4 * min_read) release();
  }

 private:
  // To `size`: into a spare buffer with room for it if this thread keeps one (memory already
  // faulted in), else by growing this one. A response's buffer starts at min_read and learns the
  // frame's size from its first bytes; growing in place took fresh pages for nearly every
  // governed Fetch response (page faults were ~13% of a gateway serving from the transform cache).
  void grow(std::size_t size) {
    if (buf_.capacity() < size) {
      byte_buffer roomier = spare_buffers().take(size);
      if (roomier.capacity() >= size) {
        roomier.resize(size);
        if (tail_ > 0) std::memcpy(roomier.data(), buf_.data(), tail_);
        std::swap(buf_, roomier);
      }
      spare_buffers().give(std::move(roomier));
    }
    if (buf_.size() < size) buf_.resize(size);
  }

  byte_buffer buf_;
  std::size_t head_ = 0, tail_ = 0;
  bool paced_ = false;
  request_memory_budget* budget_ = nullptr;
  std::size_t reserved_ = 0;
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

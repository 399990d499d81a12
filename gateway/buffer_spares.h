#pragma once
// Spare buffers kept for reuse on one thread, bounded in count, in the size of one and in total:
// reusing memory already faulted in is cheaper than fresh pages for every large frame or
// records field, and a burst of huge ones is not kept. Users: frame_buffer (reads) and the
// policy chain (governed records fields).
// Threading: not thread-safe; each user keeps one per thread (thread_local).
#include <cstddef>
#include <utility>
#include <vector>

namespace kgw::gateway {

template <class Buffer>
class buffer_spares {
 public:
  buffer_spares(std::size_t max_count, std::size_t max_one, std::size_t max_total)
      : max_count_(max_count), max_one_(max_one), max_total_(max_total) {}

  // The buffer given last, or an empty one.
  Buffer take_any() {
    if (kept_.empty()) return {};
    return take_at(kept_.size() - 1);
  }
  // The smallest kept buffer with room for `want` bytes, else the largest kept (it grows from
  // there), else an empty one.
  Buffer take(std::size_t want) {
    if (kept_.empty()) return {};
    std::size_t pick = 0;
    for (std::size_t i = 1; i < kept_.size(); ++i) {
      const std::size_t c = kept_[i].capacity(), best = kept_[pick].capacity();
      if (best >= want ? (c >= want && c < best) : c > best) pick = i;
    }
    return take_at(pick);
  }
  // Kept (emptied, capacity intact) unless a bound says no; else freed.
  void give(Buffer&& b) {
    const std::size_t c = b.capacity();
    if (c == 0 || c > max_one_ || kept_.size() >= max_count_ || bytes_ + c > max_total_) return;
    b.clear();
    bytes_ += c;
    kept_.push_back(std::move(b));
  }

 private:
  Buffer take_at(std::size_t i) {
    Buffer b = std::move(kept_[i]);
    if (i + 1 != kept_.size()) kept_[i] = std::move(kept_.back());
    kept_.pop_back();
    bytes_ -= b.capacity();
    return b;
  }

  const std::size_t max_count_, max_one_, max_total_;
  std::vector<Buffer> kept_;
  std::size_t bytes_ = 0;
};

}  // namespace kgw::gateway

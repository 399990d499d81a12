#include "policies/quota/rate_window.h"

#include <algorithm>
#include <cmath>

namespace kgw::policies::quota {

rate_window::rate_window(int samples, std::chrono::milliseconds window)
    : samples_(std::max(2, samples)),
      window_(std::max(std::chrono::milliseconds(1), window)),
      origin_(clock::now()),
      slots_(std::make_unique<std::atomic<std::uint64_t>[]>(static_cast<std::size_t>(samples_))) {
  // Slot i starts as window number i - samples (id masked): a window that never was.
  for (int i = 0; i < samples_; ++i)
    slots_[static_cast<std::size_t>(i)].store((static_cast<std::uint64_t>(i - samples_) & id_mask) << value_bits);
}

std::int64_t rate_window::window_number(clock::time_point now) const {
  const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - origin_);
  return since.count() < 0 ? 0 : since.count() / window_.count();
}

void rate_window::record(clock::time_point now, std::uint64_t amount) {
  const std::int64_t n = window_number(now);
  const std::uint64_t id = static_cast<std::uint64_t>(n) & id_mask;
  auto& slot = slots_[static_cast<std::size_t>(n % samples_)];
  std::uint64_t old = slot.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t base = (old >> value_bits) == id ? (old & value_mask) : 0;
    const std::uint64_t value = std::min(value_mask, base + std::min(amount, value_mask));
    if (slot.compare_exchange_weak(old, (id << value_bits) | value, std::memory_order_relaxed)) return;
  }
}

double rate_window::span_ms(clock::time_point now, std::int64_t oldest_window) const {
  const double since_ms = std::max(0.0, std::chrono::duration<double, std::milli>(now - origin_).count());
  double elapsed = since_ms - static_cast<double>(oldest_window) * static_cast<double>(window_.count());
  const double w = static_cast<double>(window_.count());
  const double full = std::floor(elapsed / w), min_full = samples_ - 1;
  if (full < min_full) elapsed += (min_full - full) * w;
  return std::max(elapsed, w);
}

rate_window::measured rate_window::measure(clock::time_point now) const {
  const std::int64_t n = window_number(now);
  std::int64_t oldest = n;
  double total = 0;
  for (int i = 0; i < samples_; ++i) {
    // The newest window number that maps to slot i, no later than n; another id is stale.
    const std::int64_t w = n - ((n - i) % samples_ + samples_) % samples_;
    const std::uint64_t v = slots_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
    if ((v >> value_bits) != (static_cast<std::uint64_t>(w) & id_mask)) continue;
    total += static_cast<double>(v & value_mask);
    oldest = std::min(oldest, w);
  }
  const double span = span_ms(now, oldest);
  return {total / (span / 1000.0), span};
}

void rate_window::block_until(clock::time_point t) {
  const clock::rep v = t.time_since_epoch().count();
  clock::rep seen = blocked_until_.load(std::memory_order_relaxed);
  while (v > seen && !blocked_until_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}

double rate_window::rate(clock::time_point now) const { return measure(now).per_second; }

std::chrono::milliseconds rate_window::throttle(clock::time_point now, double quota) const {
  if (quota <= 0) return std::chrono::milliseconds(0);
  const auto m = measure(now);
  if (m.per_second <= quota) return std::chrono::milliseconds(0);
  const double wait = (m.per_second - quota) / quota * m.span_ms;
  // Not capped at the window, as Kafka does not cap byte-rate throttles: a burst far over the
  // quota waits as long as it takes to come back to it. Bounded only to what throttle_time_ms
  // holds sensibly (an hour).
  constexpr double max_wait_ms = 3'600'000;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(std::min(wait, max_wait_ms))));
}

}  // namespace kgw::policies::quota

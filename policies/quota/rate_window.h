#pragma once
// A rate measured as Kafka measures quota rates (org.apache.kafka.common.metrics.stats.Rate over
// `samples` windows of `window` each): the sum of the samples still in the window, divided by
// the time they span, which counts as at least samples - 1 whole windows (so the first bytes
// after a quiet spell do not read as a huge rate). Throttle time as Kafka's QuotaUtils: to bring
// an observed rate O down to the quota Q over the window W, wait X = (O - Q) / Q * W.
//
// Threading: lock-free, shared by every connection of one principal on every worker. Each sample
// is one 64-bit atomic holding its window number (high 24 bits) and its total (low 40 bits,
// 1 TiB per window), so starting a new window and adding to it is one compare-and-swap: nothing
// recorded is lost to a race between workers.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace kgw::policies::quota {

class rate_window {
 public:
  using clock = std::chrono::steady_clock;
  rate_window(int samples, std::chrono::milliseconds window);

  // Adds `amount` at `now`.
  void record(clock::time_point now, std::uint64_t amount);
  // The rate per second at `now`.
  double rate(clock::time_point now) const;
  // How long to throttle for the rate at `now` to come back to `quota` per second (0 within it).
  std::chrono::milliseconds throttle(clock::time_point now, double quota) const;

  // Over the quota, the principal waits until then on every connection (the latest set wins).
  void block_until(clock::time_point t);
  clock::time_point blocked_until() const {
    return clock::time_point(clock::duration(blocked_until_.load(std::memory_order_relaxed)));
  }

  int samples() const { return samples_; }
  std::chrono::milliseconds window() const { return window_; }

 private:
  static constexpr int id_bits = 24, value_bits = 40;
  static constexpr std::uint64_t value_mask = (std::uint64_t{1} << value_bits) - 1;
  static constexpr std::uint64_t id_mask = (std::uint64_t{1} << id_bits) - 1;
  struct measured {
    double per_second = 0;
    double span_ms = 0;
  };
  std::int64_t window_number(clock::time_point now) const;
  measured measure(clock::time_point now) const;
  // The span the rate divides by, in ms (Kafka's Rate.windowSize).
  double span_ms(clock::time_point now, std::int64_t oldest_window) const;

  const int samples_;
  const std::chrono::milliseconds window_;
  const clock::time_point origin_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
  std::atomic<clock::rep> blocked_until_{0};
};

}  // namespace kgw::policies::quota

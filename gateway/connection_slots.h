#pragma once
// Open-connection limits of a listener and of the whole gateway (Kafka's
// listener.name.X.max.connections and max.connections). At a limit the gateway stops accepting
// until a connection closes, as a broker's acceptor does: new clients wait in the kernel's
// accept backlog (and time out there) instead of being accepted and dropped.
// A connection_slot is the share one connection holds; it gives it back when destroyed.
// Threading: lock-free; counted by every worker's accept loop and released by sessions.
#include <atomic>
#include <optional>
#include <utility>

namespace kgw::gateway {

class connection_slots {
 public:
  explicit connection_slots(std::optional<int> limit = std::nullopt) : limit_(limit) {}
  // Takes a slot if one is free (always, without a limit).
  bool try_take() {
    if (!limit_) {
      open_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    int n = open_.load(std::memory_order_relaxed);
    do {
      if (n >= *limit_) return false;
    } while (!open_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
  }
  void give_back() { open_.fetch_sub(1, std::memory_order_relaxed); }
  int open() const { return open_.load(std::memory_order_relaxed); }
  std::optional<int> limit() const { return limit_; }

 private:
  const std::optional<int> limit_;
  std::atomic<int> open_{0};
};

// One connection's slots: its listener's and the gateway's.
class connection_slot {
 public:
  connection_slot() = default;
  connection_slot(connection_slots* listener, connection_slots* gateway) : listener_(listener), gateway_(gateway) {}
  connection_slot(connection_slot&& o) noexcept
      : listener_(std::exchange(o.listener_, nullptr)), gateway_(std::exchange(o.gateway_, nullptr)) {}
  connection_slot& operator=(connection_slot&& o) noexcept {
    if (this != &o) {
      release();
      listener_ = std::exchange(o.listener_, nullptr);
      gateway_ = std::exchange(o.gateway_, nullptr);
    }
    return *this;
  }
  ~connection_slot() { release(); }

  // Both slots, or none.
  static std::optional<connection_slot> take(connection_slots& listener, connection_slots& gateway) {
    if (!listener.try_take()) return std::nullopt;
    if (!gateway.try_take()) {
      listener.give_back();
      return std::nullopt;
    }
    return connection_slot(&listener, &gateway);
  }

 private:
  void release() {
    if (listener_) listener_->give_back();
    if (gateway_) gateway_->give_back();
    listener_ = gateway_ = nullptr;
  }
  connection_slots* listener_ = nullptr;
  connection_slots* gateway_ = nullptr;
};

}  // namespace kgw::gateway

#pragma once
// The upstream bootstrap brokers the bootstrap port relays to. Fixed for a real cluster;
// replaced when the embedded broker is restarted on new ports (embedded_broker_process.h).
// Threading: read by every worker when a connection is set up (never per frame); replaced from
// the watcher thread. An atomic shared_ptr: readers keep the list they loaded, whole.
#include <atomic>
#include <memory>
#include <vector>

#include "config/gateway_config.h"

namespace kgw::gateway {

class bootstrap_brokers {
 public:
  using list = std::vector<config::host_port>;
  std::shared_ptr<const list> get() const { return list_.load(std::memory_order_acquire); }
  void set(list brokers) { list_.store(std::make_shared<const list>(std::move(brokers)), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const list>> list_{std::make_shared<const list>()};
};

}  // namespace kgw::gateway

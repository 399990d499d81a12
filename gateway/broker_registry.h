#pragma once
// Which upstream broker each gateway port stands for.
//
// Every broker id the gateway sees in a response gets a gateway port: first + node_id when that
// fits the configured range (so every instance of a stateless fleet maps a broker to the same
// port), otherwise the lowest free port of the range. Clients only ever see these ports.
//
// Threading: shared by all workers; a mutex guards the maps. It is used when a connection opens
// and when an address-bearing response passes through, never per record or per relayed frame.
// The listen callback runs on the thread that discovered the broker, outside the lock, before
// learn() returns, so a rewritten response is sent only after its port is listening.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"

namespace kgw::gateway {

class broker_registry {
 public:
  // Starts listening on a gateway port; returns false if the port cannot be bound.
  using listen_fn = std::function<bool(std::uint16_t port)>;

  broker_registry(std::uint16_t first_port, std::uint16_t last_port, listen_fn listen);

  // Records where broker `node_id` is upstream and returns its gateway port, or nullopt when no
  // port can be given (range exhausted, bind failed): the caller must then fail closed rather
  // than let the upstream address through.
  std::optional<std::uint16_t> learn(std::int32_t node_id, std::string_view host, std::int32_t port);

  struct target {
    std::int32_t node_id;
    config::host_port upstream;
  };
  // The upstream broker behind a gateway port, if any.
  std::optional<target> for_port(std::uint16_t gateway_port) const;
  std::vector<target> all() const;

 private:
  std::optional<std::uint16_t> pick_port_locked(std::int32_t node_id) const;

  const std::uint16_t first_, last_;
  listen_fn listen_;
  mutable std::mutex mu_;
  std::map<std::int32_t, config::host_port> upstream_;  // node id -> upstream address
  std::map<std::int32_t, std::uint16_t> port_of_;       // node id -> gateway port
  std::map<std::uint16_t, std::int32_t> node_at_;       // gateway port -> node id
  std::mutex bind_mu_;                                  // serialises port binding
};

}  // namespace kgw::gateway

#include "gateway/broker_registry.h"
#include "gateway/logging.h"

namespace kgw::gateway {

broker_registry::broker_registry(std::uint16_t first_port, std::uint16_t last_port, listen_fn listen)
    : first_(first_port), last_(last_port), listen_(std::move(listen)) {}

std::optional<std::uint16_t> broker_registry::pick_port_locked(std::int32_t node_id) const {
  if (node_id >= 0 && static_cast<long>(first_) + node_id <= last_) {
    auto p = static_cast<std::uint16_t>(first_ + node_id);
    if (!node_at_.contains(p)) return p;
  }
  for (long p = last_; p >= first_; --p)  // from the top, so low ports stay free for id-mapped brokers
    if (!node_at_.contains(static_cast<std::uint16_t>(p))) return static_cast<std::uint16_t>(p);
  return std::nullopt;
}

std::optional<std::uint16_t> broker_registry::learn(std::int32_t node_id, std::string_view host, std::int32_t port) {
  if (node_id < 0 || port <= 0 || port > 65535) return std::nullopt;
  {
    std::lock_guard lk(mu_);
    auto& up = upstream_[node_id];
    if (up.host != host || up.port != port) {
      if (!up.host.empty())
        log::upstream().info("broker {} moved upstream from {} to {}:{}", node_id, up.str(), host, port);
      up = {std::string(host), static_cast<std::uint16_t>(port)};
    }
    if (auto it = port_of_.find(node_id); it != port_of_.end()) return it->second;
  }
  // New broker: bind its port before anyone is told about it. Binding happens outside mu_ so
  // lookups on other threads don't wait on socket calls; bind_mu_ keeps two discoverers of the
  // same broker from binding twice.
  std::lock_guard bind_lk(bind_mu_);
  std::optional<std::uint16_t> chosen;
  {
    std::lock_guard lk(mu_);
    if (auto it = port_of_.find(node_id); it != port_of_.end()) return it->second;
    chosen = pick_port_locked(node_id);
  }
  if (!chosen) {
    log::upstream().error("no free gateway port in {}-{} for broker {}; its address cannot be given to clients", first_,
                  last_, node_id);
    return std::nullopt;
  }
  if (!listen_(*chosen)) {
    log::upstream().error("cannot listen on gateway port {} for broker {}", *chosen, node_id);
    return std::nullopt;
  }
  std::lock_guard lk(mu_);
  port_of_[node_id] = *chosen;
  node_at_[*chosen] = node_id;
  log::upstream().info("broker {} ({}:{}) is reachable through gateway port {}", node_id, host, port, *chosen);
  return chosen;
}

std::optional<broker_registry::target> broker_registry::for_port(std::uint16_t gateway_port) const {
  std::lock_guard lk(mu_);
  auto it = node_at_.find(gateway_port);
  if (it == node_at_.end()) return std::nullopt;
  return target{it->second, upstream_.at(it->second)};
}

std::vector<broker_registry::target> broker_registry::all() const {
  std::lock_guard lk(mu_);
  std::vector<target> out;
  for (const auto& [id, up] : upstream_) out.push_back({id, up});
  return out;
}

}  // namespace kgw::gateway

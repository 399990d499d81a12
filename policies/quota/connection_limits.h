#pragma once
// Connection limits (policies/quota/quota_config.h): open connections and new connections per
// second, per client address (Kafka's max.connections.per.ip and KIP-612's per-IP connection
// rate; checked when a connection is accepted, before TLS or SASL) and per principal (checked
// once it has authenticated). A refused connection is closed, as a broker closes one over its
// limits; it counts toward nothing. Counts are per gateway instance.
// Threading: thread-safe, one mutex, taken when a connection is admitted and when it closes,
// never per request. Entries of addresses and principals with nothing open go once their rate
// window has passed, so a scan of many addresses does not grow the maps for ever.
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "policies/quota/quota_config.h"
#include "policies/quota/rate_window.h"

namespace kgw::policies::quota {

class connection_limits {
 public:
  using clock = rate_window::clock;
  struct limits {
    std::optional<int> max_connections;
    std::optional<double> connections_per_second;
    int samples = 11;
    std::chrono::milliseconds window{1000};
  };
  enum class verdict { admitted, too_many, too_fast };
  static const char* reason(verdict v);  // "max_connections", "connections_per_second": metric labels

  // Counts a connection of `key` (an address or a principal, in its own space) if `l` admits it.
  verdict admit_address(const std::string& address, const limits& l, clock::time_point now) {
    return admit(addresses_, address, l, now);
  }
  void release_address(const std::string& address) { release(addresses_, address); }
  verdict admit_principal(const std::string& principal, const limits& l, clock::time_point now) {
    return admit(principals_, principal, l, now);
  }
  void release_principal(const std::string& principal) { release(principals_, principal); }
  // Open connections counted for `key` now (tests, metrics).
  int open_for_address(const std::string& address);

 private:
  struct entry {
    int open = 0;
    std::unique_ptr<rate_window> rate;  // made with the first rate limit that applies
    clock::time_point last{};
    std::chrono::milliseconds span{0};
  };
  using table = std::unordered_map<std::string, entry>;
  verdict admit(table& t, const std::string& key, const limits& l, clock::time_point now);
  void release(table& t, const std::string& key);
  void sweep(table& t, clock::time_point now);

  std::mutex mu_;
  table addresses_, principals_;
  std::size_t admitted_since_sweep_ = 0;
};

}  // namespace kgw::policies::quota

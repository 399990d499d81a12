#pragma once
// One end-to-end setup per test: an embedded broker (3 mock brokers) and, in front of it, the
// gateway started in-process on free loopback ports with an address_audit tap installed.
//
// KGW_E2E_DIRECT=1 points the clients straight at the mock instead (no gateway): the same tests
// then check the tests, the clients and the mock, which tells a gateway bug from a mock quirk.
// KGW_E2E_LOG sets the gateway's spdlog level (default "warn").
//
// Threading: construct, use and destroy on the test thread. The gateway and the mock run their
// own threads; the audit is thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/dev/embedded_cluster.h"
#include "tests/e2e/address_audit.h"

namespace kgw::config {
struct gateway_config;
}
namespace kgw::gateway {
class gateway;
}

namespace kgw::e2e {

// `count` consecutive TCP ports on 127.0.0.1 that could be bound just now, below the ephemeral
// range (so the mock's ports never collide with them). Successive calls in one process return
// disjoint blocks; the start depends on the pid so parallel test processes spread out.
std::uint16_t find_free_port_block(int count);

// True when no socket listens on any of `count` ports from `first` on 127.0.0.1 (they bind with
// SO_REUSEADDR, as the gateway and the mock do: connections in TIME_WAIT do not count), for tests
// that need fixed ports.
bool ports_free(std::uint16_t first, int count);

// This process's resident memory (VmRSS), for tests of what the in-process gateway holds.
std::size_t resident_bytes();

class e2e_environment {
 public:
  static constexpr const char* advertised_host = "127.0.0.1";

  // with_audit=false runs the gateway without the response tap, as in production: the tap
  // needs whole frames, so with it the gateway never splices large pass-through responses.
  // adjust: changes to the gateway's configuration (limits, timeouts) before it starts.
  explicit e2e_environment(const std::vector<gateway::embedded_topic>& topics, int brokers = 3,
                           bool with_audit = true, const std::function<void(config::gateway_config&)>& adjust = {});
  ~e2e_environment();  // stops the gateway, then the broker
  e2e_environment(const e2e_environment&) = delete;
  e2e_environment& operator=(const e2e_environment&) = delete;

  // What clients connect to: the gateway's bootstrap address, or the mock in direct mode.
  const std::string& bootstrap() const { return client_bootstrap_; }
  bool through_gateway() const { return gateway_ != nullptr; }
  const gateway::gateway* gateway_instance() const { return gateway_.get(); }
  const gateway::embedded_cluster& cluster() const { return cluster_; }
  gateway::embedded_cluster& cluster() { return cluster_; }
  std::uint16_t gateway_port() const { return listen_port_; }
  std::uint16_t broker_port_first() const { return first_port_; }
  std::uint16_t broker_port_last() const { return last_port_; }

  address_audit::summary audit() const;
  // Catch2 assertions: no upstream address ever reached a client, and (when asked) at least one
  // Metadata response was decoded and checked. No-op in direct mode.
  void require_no_upstream_addresses(bool expect_metadata = true) const;

 private:
  gateway::embedded_cluster cluster_;
  std::uint16_t listen_port_ = 0, first_port_ = 0, last_port_ = 0;
  std::unique_ptr<address_audit> audit_;
  std::unique_ptr<gateway::gateway> gateway_;
  std::string client_bootstrap_;
};

}  // namespace kgw::e2e

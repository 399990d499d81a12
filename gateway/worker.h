#pragma once
// One worker = one thread running one io_context. Everything a client connection needs lives on
// the worker that accepted it: the session, its upstream socket, the rewriters, the auth-failure
// log. Nothing here is locked; only the shared registries and the cluster's API versions are.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/address_rewriter.h"
#include "gateway/bootstrap_brokers.h"
#include "gateway/frame_buffer.h"
#include "gateway/gateway.h"
#include "policies/decision.h"
#include "policies/topic_names.h"
#include "gateway/security/auth_failure_log.h"

namespace kgw::gateway::audit {
class audit_log;
}

namespace kgw::gateway {

class auth_pool;
class cluster_versions;
class identity_store;
class session;
class upstream_connector;
struct listener_runtime;
namespace metrics {
class gateway_metrics;
}
}  // namespace kgw::gateway
namespace kgw::policies::quota {
class connection_limits;
}
namespace kgw::gateway {

class live_configs;

struct worker {
  worker(int index, std::shared_ptr<const config::gateway_config> cfg,
         const std::vector<std::unique_ptr<listener_runtime>>& listeners, const upstream_connector& connector,
         cluster_versions& versions, const response_tap& tap, const policies::decision_stream& decisions,
         const bootstrap_brokers& bootstrap, const live_configs& live);

  const int index;
  // The configuration the gateway started with: the settings that need a restart (limits,
  // timeouts). Principals and policies come from `live`.
  const std::shared_ptr<const config::gateway_config> cfg;
  const upstream_connector& connector;
  cluster_versions& versions;
  const response_tap& tap;
  const policies::decision_stream& decisions;  // every decision goes here
  const bootstrap_brokers& bootstrap;
  std::size_t next_bootstrap = 0;         // round-robin over the bootstrap brokers
  std::vector<address_rewriter> rewriters;  // one per listener, by listener index
  security::auth_failure_log auth_log;      // per worker: no lock on the failure path
  // Upstream failures (per broker host) and listener limits: rate-limited like auth_log, since a
  // broker restart fails every client connection at once.
  security::auth_failure_log upstream_log;
  const live_configs& live;                 // principals and policies, by generation
  policies::topic_names topic_ids;                    // learnt from Metadata this worker relays
  request_memory_budget* request_memory = nullptr;  // the process-wide one (frame_buffer.h); null: unbounded
  metrics::gateway_metrics* metrics = nullptr;      // the process-wide one (thread-safe); null: no admin listener
  policies::quota::connection_limits* connection_limits = nullptr;  // the process-wide one (thread-safe)
  auth_pool* auth = nullptr;  // the process-wide one (thread-safe); null: logins checked on this thread
  const audit::audit_log* audit = nullptr;  // the process-wide one (thread-safe); null: no audit trail
  // Declared before io: sessions destroyed with io's pending handlers still update these.
  std::list<std::weak_ptr<session>> sessions;  // for draining on shutdown
  std::atomic<int> live_sessions{0};
  std::atomic<std::uint64_t> spliced_bytes{0};  // bytes moved socket to socket by splice(2)
  boost::asio::io_context io{1};  // concurrency hint 1: single-threaded, asio skips its locking
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors;
  std::thread thread;
};

}  // namespace kgw::gateway

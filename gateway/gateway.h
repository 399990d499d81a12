#pragma once
// The gateway: listeners (each with a bootstrap port + one port per upstream broker, and its own
// security protocol), worker threads, sessions.
//
// Threading: one io_context per worker thread; each client session and its upstream connection
// live on one worker for their whole life (no locks on the relay path). The broker registry
// (node id -> upstream address and gateway port) is shared and mutex-guarded; it is touched only
// when a connection opens and when a response carrying broker addresses passes through.
// start()/stop() are called from one controlling thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/gateway_config.h"
#include "policies/decision.h"

namespace kgw::gateway {

// Sees every response frame body (after the 4-byte size) exactly as sent to a client, after
// rewriting. For tests and diagnostics; called on worker threads, so it must be thread-safe.
using response_tap = std::function<void(std::int16_t api_key, std::int16_t api_version, std::span<const std::byte> body)>;

// Sees every connection's identity once established (after TLS and SASL): listener name,
// principal name (without "User:") and how it was established (PLAIN, SCRAM-SHA-512,
// OAUTHBEARER, SSL, PLAINTEXT). For tests; called on worker threads, so it must be thread-safe.
using auth_tap = std::function<void(std::string_view listener, std::string_view principal, std::string_view mechanism)>;

// What policies did to records since start-up (the decision stream's records events, summed).
struct governance_stats {
#define KGW_STAT(name) std::uint64_t name = 0;
  KGW_DECISION_TALLIES(KGW_STAT)
#undef KGW_STAT
  bool operator==(const governance_stats&) const = default;
};

// What gateway::reload did. accepted && !unchanged: `generation` is live.
struct reload_result {
  bool accepted = false;
  bool unchanged = false;     // equal to the live generation: nothing to do
  std::uint64_t generation = 0;  // the live one afterwards
  std::string message;        // rejected: why; accepted: what the generation holds
};

class gateway {
 public:
  explicit gateway(config::gateway_config cfg);
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  void set_response_tap(response_tap tap);  // before start()
  // Sees every decision (policies/decision.h); before start(). Called on worker threads.
  // traffic: also the traffic decisions (which cost a walk of each Produce and Fetch).
  void subscribe(policies::decision_stream::subscriber s, bool traffic = false);
  void set_auth_tap(auth_tap tap);          // before start()
  // The program `upstream.embedded` runs as `PROGRAM dev-cluster ...` (embedded_broker_process.h),
  // before start(). Default: this very program, which is kafka-gateway except in tests.
  void set_embedded_broker_program(std::string path);
  // Resolves the upstream (starting the embedded broker if configured), learns the brokers,
  // binds the listeners and starts the workers. Throws std::runtime_error on failure.
  void start();
  // Makes `next`'s principals, credentials and policies (and log level) the live generation.
  // Open connections move to it between requests; nothing is dropped. Rejected, with the live
  // generation serving on, when a setting that needs a restart differs (listeners, upstream,
  // limits: nothing of `next` is applied then) or a credential does not parse. `next` must be
  // a loaded, validated configuration (config/loader.h). Thread-safe; after start().
  reload_result reload(config::gateway_config next);
  // A reload that failed before reload() (the file did not load): reported like a rejection.
  reload_result reload_failed(std::string why);
  std::uint64_t generation() const;  // the live configuration generation (1 at start)
  // nullopt when ready to serve (running, a configuration live, an upstream broker accepting
  // connections, the KMS healthy where one is configured), else why not. May block up to 2 s.
  std::optional<std::string> not_ready() const;
  std::uint16_t admin_port() const;
  // SIGUSR1: the audit file is reopened at its path (after logrotate moved it).
  void reopen_audit();  // the admin listener's bound port; 0 without one

  // Stops accepting, closes connections, joins the workers. Idempotent.
  void stop();
  // Blocks until stop() is called from another thread or a signal handler path.
  void wait();

  std::uint16_t bootstrap_port() const;  // the first listener's
  std::uint16_t listener_port(std::string_view listener_name) const;  // 0 if there is no such listener
  // Bytes relayed with splice(2), without passing through user space (all workers).
  std::uint64_t spliced_bytes() const;
  // "host:port,..." of the upstream brokers in use (for tests and logs).
  std::string upstream_bootstrap() const;
  governance_stats governance() const;
  // Request bytes reserved by connections whose large requests are still arriving (bounded by
  // gateway.max_buffered_requests).
  std::size_t buffered_request_bytes() const;

 private:
  reload_result apply(config::gateway_config next);

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kgw::gateway

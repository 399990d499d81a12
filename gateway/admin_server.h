#pragma once
// The admin HTTP listener (`admin:` in the configuration; off unless configured):
//   GET /metrics  Prometheus text format 0.0.4 (gateway/metrics/gateway_metrics.h)
//   GET /healthz  200 while the process serves
//   GET /readyz   200 when ready (configuration live, an upstream broker accepts a connection,
//                 the KMS answers where encryption is configured), else 503 and why
// Optional TLS (admin.tls) and bearer token (admin.bearer_token: every path then needs
// "Authorization: Bearer <token>", compared in constant time; 401 otherwise).
// HTTP/1.1 through Boost.Beast (a maintained parser; an admin port faces scrapers and probes,
// but also whatever else reaches it): requests are bounded in size and time, one connection's
// trouble never reaches another, and nothing here runs on a relay worker.
// Threading: its own thread and io_context; the callbacks run there (readiness may block for
// its connect timeout; the metrics callback must be thread-safe).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/gateway_config.h"

namespace kgw::gateway {

class admin_server {
 public:
  // ready: nullopt when ready, else why not (in words, sent with the 503).
  using readiness = std::function<std::optional<std::string>()>;
  admin_server(config::admin_settings settings, std::function<std::string()> metrics, readiness ready);
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  // Binds and starts serving; throws std::runtime_error naming the address when it cannot.
  void start();
  void stop();  // idempotent
  std::uint16_t port() const;  // the bound port (after start)

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kgw::gateway

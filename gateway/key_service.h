#pragma once
// The gateway's key manager (policies/encryption/key_manager.h) as the encryption section of the
// policies asks for it: its KMS (key file or PKCS#11 token) and its key topic on the upstream
// cluster, reached with the gateway's upstream security settings. Made and started (the key topic
// read to its end, every key unwrapped) before the generation that needs it is published, so a
// missing KMS or an unreachable key topic fails start-up, or rejects a reload, with a clear error;
// kept across reloads whose KMS, key topic and data-key settings are unchanged.
// Threading: services_for is called by start-up and the reloader (one at a time; it locks).
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "config/gateway_config.h"
#include "policies/services.h"

namespace kgw::policies {
class decision_stream;
}

namespace kgw::gateway {

class key_service {
 public:
  // bootstrap: the upstream brokers as the gateway reaches them now ("host:port,host:port").
  explicit key_service(std::function<std::string()> bootstrap);
  ~key_service();

  // Where key managers made from now on report key operations (null: nowhere).
  void set_decision_stream(const policies::decision_stream* stream) { decisions_ = stream; }

  // The services of a generation of `cfg`. Blocks while a new key manager starts.
  std::expected<policies::policy_services, std::string> services_for(const config::gateway_config& cfg);
  // Stops the key manager (its key topic clients close) while the cluster is still there.
  void stop();
  // The KMS answers (when encryption is configured; always fine otherwise). Thread-safe.
  std::expected<void, std::string> health();

 private:
  struct running;
  std::function<std::string()> bootstrap_;
  const policies::decision_stream* decisions_ = nullptr;
  std::mutex mu_;
  std::unique_ptr<running> running_;
};

}  // namespace kgw::gateway

#pragma once
// One generation of what the gateway changes without a restart: the principals with their
// credentials, and the policies compiled from the same configuration. A reload builds a new
// generation next to the live one and publishes it whole; nothing of a generation changes after
// that (its policy_set only fills caches). A session holds the generation it authenticated
// against and moves to the newest between requests; a request's response is governed by the
// generation that authorized the request.
//
// Threading: live_config is immutable once published and shared by every worker. live_configs
// is the publication point: generation() is one atomic load (sessions call it per request);
// current() takes a mutex, called only when a session starts or sees a new generation.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "config/gateway_config.h"
#include "gateway/identity_store.h"
#include "policies/policy_set.h"
#include "policies/quota/quota_book.h"

namespace kgw::gateway {

struct live_config {
  std::uint64_t generation = 0;
  std::shared_ptr<const config::gateway_config> cfg;
  identity_store identities;                        // points into *cfg
  std::unique_ptr<policies::policy_set> policies;  // null: no policy configured (a transparent relay)
  std::unique_ptr<policies::quota::quota_book> quotas;  // null: no quota configured

  // Builds a generation; throws std::runtime_error on a credential that does not parse.
  // services: what the gateway lends its policies (the key manager), already started.
  // meters: the gateway's quota rate windows (kept across generations); null: quotas are off.
  live_config(std::uint64_t gen, std::shared_ptr<const config::gateway_config> c, policies::policy_services services = {},
              policies::quota::quota_meters* meters = nullptr)
      : generation(gen), cfg(std::move(c)), identities(cfg->principals) {
    if (!cfg->policies.empty()) policies = std::make_unique<policies::policy_set>(cfg, std::move(services));
    const auto q = cfg->policies.section<policies::quota_section>();
    if (meters && !q->empty()) quotas = std::make_unique<policies::quota::quota_book>(*q, *meters);
  }
};

class live_configs {
 public:
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const live_config> current() const {
    std::lock_guard lk(mu_);
    return current_;
  }
  void publish(std::shared_ptr<const live_config> next) {
    std::lock_guard lk(mu_);
    current_ = std::move(next);
    generation_.store(current_->generation, std::memory_order_release);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const live_config> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace kgw::gateway

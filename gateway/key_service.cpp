#include "gateway/key_service.h"

#include "gateway/key_topic.h"
#include "gateway/logging.h"
#include "policies/encryption/encryption_config.h"
#include "policies/encryption/key_manager.h"

namespace kgw::gateway {
namespace enc = policies::encryption;

struct key_service::running {
  // What the manager was made from: a reload that changes none of it keeps the manager.
  policies::kms_settings kms;
  key_topic_settings topic;
  enc::key_limits limits;
  std::shared_ptr<enc::key_manager> keys;

  bool same(const running& o) const {
    return kms == o.kms && topic.topic == o.topic.topic && topic.create == o.topic.create &&
           topic.client == o.topic.client && limits == o.limits;
  }
};

key_service::key_service(std::function<std::string()> bootstrap) : bootstrap_(std::move(bootstrap)) {}
key_service::~key_service() = default;

std::expected<policies::policy_services, std::string> key_service::services_for(const config::gateway_config& cfg) {
  const auto section = cfg.policies.section<policies::encryption_section>();
  policies::policy_services out;
  if (section->empty()) return out;
  auto want = std::make_unique<running>();
  want->kms = *section->kms;  // the section reader requires a KMS when there are rules
  want->topic.bootstrap = bootstrap_();
  want->topic.client = upstream_client_settings(cfg);
  want->topic.topic = section->key_topic;
  want->topic.create = section->create_key_topic;
  want->topic.timeout = std::max(cfg.upstream_connect_timeout, std::chrono::milliseconds(std::chrono::seconds(5)));
  want->limits.max_uses = section->max_uses;
  want->limits.max_age = section->max_age;

  std::lock_guard lock(mu_);
  if (running_ && running_->same(*want)) {
    out.keys = running_->keys;
    return out;
  }
  auto kms = enc::open_kms(want->kms);
  if (!kms) return std::unexpected("encryption: " + kms.error());
  auto store = key_topic::open(want->topic);
  if (!store) return std::unexpected("encryption: " + store.error());
  want->keys = std::make_shared<enc::key_manager>(std::move(*kms), std::move(*store), want->limits);
  want->keys->set_decision_stream(decisions_);
  if (auto started = want->keys->start(); !started) return std::unexpected("encryption: " + started.error());
  log::keys().info("encryption: {} KMS, {} data key(s) in key topic '{}'", want->keys->key_service()->kind(),
               want->keys->list().size(), want->topic.topic);
  out.keys = want->keys;
  running_ = std::move(want);
  return out;
}

void key_service::stop() {
  std::lock_guard lock(mu_);
  if (running_) running_->keys->stop();
}

std::expected<void, std::string> key_service::health() {
  std::shared_ptr<enc::key_manager> keys;
  {
    std::lock_guard lk(mu_);
    if (running_) keys = running_->keys;
  }
  if (!keys) return {};
  return keys->health();
}

}  // namespace kgw::gateway

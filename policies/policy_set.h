#pragma once
// All policies of the configuration, compiled on demand and cached: once per principal (its
// ACL) and once per (principal, topic) (its view and its produce validation). Sessions keep
// their own small topic -> compiled map on top, so the hot path takes no lock; the lock here
// is taken only the first time a session meets a topic.
// Threading: thread-safe; compiled objects are immutable and shared.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"
#include "config/policy_config.h"
#include "policies/acl/principal_acl.h"
#include "policies/validation/record_validator.h"
#include "policies/view/topic_view.h"

namespace kgw::policies {

// What one principal gets for one topic. Null members: nothing to do.
struct topic_policies {
  std::shared_ptr<const topic_view> view;             // null: records pass as they are
  std::shared_ptr<const record_validator> validator;  // null: produce is not validated
  std::string error;  // non-empty: the policy could not be compiled; fail closed (deny the topic)
};

// The rules that apply to a principal for a topic: those naming the principal; if none, those
// naming one of its teams; if none, those for everyone (see config/policy_config.h).
std::vector<const config::view_rule*> applicable_views(const config::policy_config& policies,
                                                       const config::principal_config& principal,
                                                       std::string_view topic);
std::vector<const config::validation_rule*> applicable_validations(const config::policy_config& policies,
                                                                   const config::principal_config& principal,
                                                                   std::string_view topic);

class policy_set {
 public:
  // One configuration generation's policies; kept alive by this and by what it compiles.
  explicit policy_set(std::shared_ptr<const config::gateway_config> cfg);
  // A copy of `cfg` (tests, offline tools).
  explicit policy_set(const config::gateway_config& cfg);

  bool empty() const;  // no policy at all: the gateway is a transparent relay
  const config::policy_config& config() const { return cfg_->policies; }
  std::shared_ptr<const principal_acl> acl(std::string_view principal);
  std::shared_ptr<const topic_policies> for_topic(std::string_view principal, std::string_view topic);

  // The principal's config entry (teams, attributes); a name-only entry for principals the
  // config does not list (a certificate principal, say).
  const config::principal_config& principal(std::string_view name);

 private:
  std::shared_ptr<const config::gateway_config> cfg_;
  std::shared_ptr<const config::policy_config> rules_;  // cfg_->policies, sharing cfg_'s lifetime
  std::mutex mu_;
  std::map<std::string, config::principal_config, std::less<>> unknown_principals_;
  std::map<std::string, std::shared_ptr<const principal_acl>, std::less<>> acls_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const topic_policies>> topics_;
};

}  // namespace kgw::policies

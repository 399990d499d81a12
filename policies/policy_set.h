#pragma once
// One configuration generation's policies (the snapshot), compiled on demand and cached: once per
// principal (its chain of policies, from the registry, and its ACL) and once per (principal,
// topic) (its view and its produce validation). Never re-interpreted per record.
// Threading: thread-safe; compiled objects are immutable and shared. Lookups of what is already
// compiled take a shared lock (uncontended: readers only); sessions keep their own topic ->
// stages map on top for Fetch.
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"
#include "config/policy_config.h"
#include "policies/acl/principal_acl.h"
#include "policies/policy.h"
#include "policies/services.h"
#include "policies/validation/record_validator.h"
#include "policies/view/topic_view.h"

namespace kgw::policies {

// What one principal gets for one topic. Null members: nothing to do.
struct topic_policies {
  std::shared_ptr<const topic_view> view;             // null: records pass as they are
  std::shared_ptr<const record_validator> validator;  // null: produce is not validated
  std::string error;  // non-empty: the policy could not be compiled; fail closed (deny the topic)
};

// A principal's policies in chain (registry) order, and what they want between them.
struct principal_policies {
  std::vector<std::shared_ptr<const policy>> chain;
  interest wants;  // the union

  void add(std::shared_ptr<const policy> p) {
    const interest w = p->wants();
    wants.requests |= w.requests;
    wants.every_request |= w.every_request;
    wants.responses |= w.responses;
    wants.fetch_records |= w.fetch_records;
    chain.push_back(std::move(p));
  }
};

// The rules that apply to a principal for a topic: those naming the principal; if none, those
// naming one of its teams; if none, those for everyone (see policies/view/view_config.h).
std::vector<const view_rule*> applicable_views(const config::policy_config& policies,
                                                       const config::principal_config& principal,
                                                       std::string_view topic);
std::vector<const validation_rule*> applicable_validations(const config::policy_config& policies,
                                                                   const config::principal_config& principal,
                                                                   std::string_view topic);

class policy_set {
 public:
  // One configuration generation's policies; kept alive by this and by what it compiles.
  explicit policy_set(std::shared_ptr<const config::gateway_config> cfg, policy_services services = {});
  // A copy of `cfg` (tests, offline tools).
  explicit policy_set(const config::gateway_config& cfg, policy_services services = {});

  bool empty() const;  // no policy at all: the gateway is a transparent relay
  const config::policy_config& config() const { return cfg_->policies; }
  const policy_services& services() const { return services_; }
  std::shared_ptr<const principal_acl> acl(std::string_view principal);
  // The principal's chain, compiled once per generation from the registry.
  std::shared_ptr<const principal_policies> chain(std::string_view principal);
  // ApiVersions: whether clients are offered this API key (ACLs on: what can be governed).
  bool lists_api(std::int16_t api_key) const;
  std::shared_ptr<const topic_policies> for_topic(std::string_view principal, std::string_view topic);

  // The principal's config entry (teams, attributes); a name-only entry for principals the
  // config does not list (a certificate principal, say).
  const config::principal_config& principal(std::string_view name);

 private:
  std::shared_ptr<const config::gateway_config> cfg_;
  policy_services services_;
  std::shared_mutex mu_;
  std::map<std::string, config::principal_config, std::less<>> unknown_principals_;
  std::map<std::string, std::shared_ptr<const principal_acl>, std::less<>> acls_;
  std::map<std::string, std::shared_ptr<const principal_policies>, std::less<>> chains_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const topic_policies>> topics_;
  // Compiled views by topic and topic_view::share_key: one per distinct outcome, not per principal.
  std::map<std::string, std::expected<std::shared_ptr<const topic_view>, std::string>> views_;
};

}  // namespace kgw::policies

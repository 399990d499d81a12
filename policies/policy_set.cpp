// The per-principal policy cache.
//
// Which view rules apply to (principal, topic), and likewise which validation rules: among the
// rules whose topics match, those naming the principal; if there are none, those naming one of
// its teams; if there are none, those for everyone. Levels do not mix: a rule written for one
// principal replaces its team's and everyone's rules for the topics it covers, so an exception
// ("fraud sees everything") is one rule, not a negation of all the others. All rules of the
// chosen level combine (see topic_view::compile). ACLs do not use levels: every rule attaching
// to the principal counts, and a deny wins (principal_acl).
//
// A view or validator that does not compile is kept as topic_policies::error, so the gateway
// denies the topic (fail closed) instead of delivering ungoverned records.
#include "policies/policy_set.h"

#include <algorithm>

#include "policies/registry.h"

namespace kgw::policies {
namespace {

bool names(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

template <class Rule>
std::vector<const Rule*> choose_level(const std::vector<Rule>& rules, const config::principal_config& p,
                                      std::string_view topic) {
  std::vector<const Rule*> by_name, by_team, for_everyone;
  for (const auto& r : rules) {
    if (std::none_of(r.topics.begin(), r.topics.end(), [&](const config::resource_pattern& t) { return t.matches(topic); }))
      continue;
    switch (r.who.what) {
      case config::subject::kind::principals:
        if (names(r.who.names, p.name)) by_name.push_back(&r);
        break;
      case config::subject::kind::teams:
        if (std::any_of(p.teams.begin(), p.teams.end(), [&](const std::string& t) { return names(r.who.names, t); }))
          by_team.push_back(&r);
        break;
      case config::subject::kind::everyone: for_everyone.push_back(&r); break;
    }
  }
  if (!by_name.empty()) return by_name;
  if (!by_team.empty()) return by_team;
  return for_everyone;
}

// The config's entry for `name`, or a name-only entry kept in `unknown` (the caller holds the lock).
const config::principal_config& lookup(const config::gateway_config& cfg,
                                       std::map<std::string, config::principal_config, std::less<>>& unknown,
                                       std::string_view name) {
  if (auto it = cfg.principals.find(std::string(name)); it != cfg.principals.end()) return it->second;
  auto it = unknown.find(name);
  if (it == unknown.end()) {
    config::principal_config p;
    p.name = std::string(name);
    it = unknown.emplace(p.name, std::move(p)).first;
  }
  return it->second;
}

}  // namespace

std::vector<const view_rule*> applicable_views(const config::policy_config& policies,
                                                       const config::principal_config& principal,
                                                       std::string_view topic) {
  return choose_level(policies.section<view_section>()->views, principal, topic);
}

std::vector<const validation_rule*> applicable_validations(const config::policy_config& policies,
                                                                   const config::principal_config& principal,
                                                                   std::string_view topic) {
  return choose_level(policies.section<validation_section>()->rules, principal, topic);
}

policy_set::policy_set(std::shared_ptr<const config::gateway_config> cfg, policy_services services)
    : cfg_(std::move(cfg)), services_(std::move(services)) {}

policy_set::policy_set(const config::gateway_config& cfg, policy_services services)
    : policy_set(std::make_shared<const config::gateway_config>(cfg), std::move(services)) {}

bool policy_set::empty() const { return cfg_->policies.empty(); }

const config::principal_config& policy_set::principal(std::string_view name) {
  std::unique_lock lock(mu_);
  return lookup(*cfg_, unknown_principals_, name);
}

std::shared_ptr<const principal_acl> policy_set::acl(std::string_view principal) {
  {
    std::shared_lock read(mu_);
    if (auto it = acls_.find(principal); it != acls_.end()) return it->second;
  }
  std::unique_lock lock(mu_);
  if (auto it = acls_.find(principal); it != acls_.end()) return it->second;
  auto compiled = std::make_shared<const principal_acl>(cfg_->policies.section<acl_section>(), lookup(*cfg_, unknown_principals_, principal));
  acls_.emplace(std::string(principal), compiled);
  return compiled;
}

std::shared_ptr<const principal_policies> policy_set::chain(std::string_view principal) {
  {
    std::shared_lock read(mu_);
    if (auto it = chains_.find(principal); it != chains_.end()) return it->second;
  }
  // Compiled outside the lock: the registry's compile functions call back into this set.
  auto compiled = std::make_shared<principal_policies>();
  for (const auto& kind : registry()) {
    if (auto p = kind.compile(*this, principal)) compiled->add(std::move(p));
  }
  std::unique_lock lock(mu_);
  return chains_.emplace(std::string(principal), std::move(compiled)).first->second;  // first one wins
}

bool policy_set::lists_api(std::int16_t api_key) const {
  for (const auto& kind : registry())
    if (kind.lists_api && !kind.lists_api(cfg_->policies, api_key)) return false;
  return true;
}

std::shared_ptr<const topic_policies> policy_set::for_topic(std::string_view principal, std::string_view topic) {
  std::pair<std::string, std::string> key{principal, topic};
  {
    std::shared_lock read(mu_);
    if (auto it = topics_.find(key); it != topics_.end()) return it->second;
  }
  std::unique_lock lock(mu_);
  if (auto it = topics_.find(key); it != topics_.end()) return it->second;

  const auto& who = lookup(*cfg_, unknown_principals_, principal);
  auto out = std::make_shared<topic_policies>();
  if (const auto views = applicable_views(cfg_->policies, who, topic); !views.empty()) {
    // Principals whose rules compile alike share one view (and its governed batches).
    std::string share = std::string(topic) + '\n' + topic_view::share_key(views, who);
    auto it = views_.find(share);
    if (it == views_.end())
      it = views_.emplace(std::move(share), topic_view::compile(views, who, cfg_->policies.section<view_section>()->hash_key)).first;
    const auto& view = it->second;
    if (!view)
      out->error = view.error();
    else if (!(*view)->passthrough())  // nothing to do to any record: leave batches untouched
      out->view = *view;
  }
  if (const auto rules = applicable_validations(cfg_->policies, who, topic); !rules.empty()) {
    auto validator = record_validator::compile(rules);
    if (!validator)
      out->error += (out->error.empty() ? "" : "; ") + validator.error();
    else
      out->validator = std::move(*validator);
  }
  if (!out->error.empty()) {
    // Fail closed: neither half is applied when either is broken.
    out->view.reset();
    out->validator.reset();
  }
  std::shared_ptr<const topic_policies> result = std::move(out);
  topics_.emplace(std::move(key), result);
  return result;
}

}  // namespace kgw::policies

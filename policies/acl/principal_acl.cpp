// ACL decisions for one principal, following Kafka's authorizer (AclAuthorizer /
// StandardAuthorizer):
//   - with no ACL configured anywhere, everything is allowed (no authorizer);
//   - otherwise a request is allowed only if some allow rule matches and no deny rule does;
//   - All in a rule matches every operation;
//   - an allow for Read, Write, Delete or Alter also allows Describe, and an allow for
//     AlterConfigs also allows DescribeConfigs. Implication works for allow rules only: a deny
//     of Read does not deny Describe (as in Kafka).
#include "policies/acl/principal_acl.h"

#include <algorithm>

namespace kgw::policies {
namespace {


bool attaches_to(const config::subject& who, const config::principal_config& p) {
  switch (who.what) {
    case config::subject::kind::everyone: return true;
    case config::subject::kind::principals:
      return std::find(who.names.begin(), who.names.end(), p.name) != who.names.end();
    case config::subject::kind::teams:
      return std::any_of(who.names.begin(), who.names.end(), [&](const std::string& team) {
        return std::find(p.teams.begin(), p.teams.end(), team) != p.teams.end();
      });
  }
  return false;
}

bool covers(const acl_rule& rule, resource_type type, std::string_view name) {
  if (rule.type != type) return false;
  if (type == resource_type::cluster) return true;  // one cluster: no name to match
  return std::any_of(rule.resources.begin(), rule.resources.end(),
                     [&](const config::resource_pattern& p) { return p.matches(name); });
}

bool has(const acl_rule& rule, acl_operation op) {
  return std::find(rule.operations.begin(), rule.operations.end(), op) != rule.operations.end();
}

// The operations whose allow grants `op` (Kafka: Describe is implied by Read, Write, Delete and
// Alter; DescribeConfigs by AlterConfigs).
bool allow_grants(const acl_rule& rule, acl_operation op) {
  if (has(rule, acl_operation::all) || has(rule, op)) return true;
  if (op == acl_operation::describe)
    return has(rule, acl_operation::read) || has(rule, acl_operation::write) || has(rule, acl_operation::delete_) ||
           has(rule, acl_operation::alter);
  if (op == acl_operation::describe_configs) return has(rule, acl_operation::alter_configs);
  return false;
}

bool deny_covers(const acl_rule& rule, acl_operation op) {
  return has(rule, acl_operation::all) || has(rule, op);
}

// Kafka's AclOperation codes, for the authorized-operations bit field.
constexpr int operation_code(acl_operation op) {
  switch (op) {
    case acl_operation::read: return 3;
    case acl_operation::write: return 4;
    case acl_operation::create: return 5;
    case acl_operation::delete_: return 6;
    case acl_operation::alter: return 7;
    case acl_operation::describe: return 8;
    case acl_operation::describe_configs: return 10;
    case acl_operation::alter_configs: return 11;
    case acl_operation::idempotent_write: return 12;
    case acl_operation::all: return 2;
  }
  return 0;
}

// The operations meaningful for each resource type (Kafka's AclEntry.supportedOperations, less
// ClusterAction, which is for brokers and never granted to clients here).
std::vector<acl_operation> supported_operations(resource_type type) {
  using o = acl_operation;
  switch (type) {
    case resource_type::topic:
      return {o::read, o::write, o::create, o::delete_, o::alter, o::describe, o::describe_configs, o::alter_configs};
    case resource_type::group: return {o::read, o::describe, o::delete_};
    case resource_type::transactional_id: return {o::write, o::describe};
    case resource_type::cluster:
      return {o::create, o::alter, o::describe, o::describe_configs, o::alter_configs, o::idempotent_write};
  }
  return {};
}

std::string subject_words(const config::subject& who) {
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  switch (who.what) {
    case config::subject::kind::everyone: return "everyone";
    case config::subject::kind::principals:
      return (who.names.size() == 1 ? "principal " : "principals ") + join(who.names);
    case config::subject::kind::teams: return (who.names.size() == 1 ? "team " : "teams ") + join(who.names);
  }
  return "?";
}

}  // namespace

principal_acl::principal_acl(std::shared_ptr<const acl_section> section, const config::principal_config& principal)
    : enabled_(section->enabled()), section_(std::move(section)) {
  for (const auto& rule : section_->rules)
    if (attaches_to(rule.who, principal)) rules_.push_back(&rule);
}

principal_acl::principal_acl(const config::policy_config& policies, const config::principal_config& principal)
    : principal_acl(policies.section<acl_section>(), principal) {}

bool principal_acl::allowed(acl_operation op, resource_type type, std::string_view name) const {
  if (!enabled_) return true;
  bool allow = false;
  for (const auto* rule : rules_) {
    if (!covers(*rule, type, name)) continue;
    if (rule->allow)
      allow = allow || allow_grants(*rule, op);
    else if (deny_covers(*rule, op))
      return false;  // deny wins, whatever else matches
  }
  return allow;
}

std::string principal_acl::denying_rule(acl_operation op, resource_type type, std::string_view name) const {
  for (const auto* rule : rules_)
    if (!rule->allow && covers(*rule, type, name) && deny_covers(*rule, op)) return rule->at.str();
  return {};
}

bool principal_acl::allowed_on_some(acl_operation op, resource_type type) const {
  if (!enabled_) return true;
  auto covers_everything = [](const config::resource_pattern& p) {
    return (p.type == config::pattern_type::literal && p.text == "*") ||
           (p.type == config::pattern_type::prefix && p.text.empty()) ||
           (p.type == config::pattern_type::glob && p.text.find_first_not_of('*') == std::string::npos);
  };
  bool allow = false;
  for (const auto* rule : rules_) {
    if (rule->type != type) continue;
    if (rule->allow) {
      allow = allow || allow_grants(*rule, op);
    } else if (deny_covers(*rule, op) &&
               (type == resource_type::cluster ||
                std::any_of(rule->resources.begin(), rule->resources.end(), covers_everything))) {
      return false;
    }
  }
  return allow;
}

std::int32_t principal_acl::authorized_operations(resource_type type, std::string_view name) const {
  std::int32_t bits = 0;
  for (const auto op : supported_operations(type))
    if (allowed(op, type, name)) bits |= std::int32_t{1} << operation_code(op);
  return bits;
}

bool principal_acl::pass_through(std::int16_t api_key) const {
  return section_->passes_through(api_key);
}

// One line per rule of this principal covering the resource: "allow Read, Describe on topic
// customers (principal marketing, policies.yaml:12:5)". An empty name (not valid for a topic,
// group or transactional id) lists every rule of that resource type with all its patterns.
std::vector<std::string> principal_acl::describe(resource_type type, std::string_view name) const {
  std::vector<std::string> out;
  for (const auto* rule : rules_) {
    if (rule->type != type) continue;
    std::string what;
    if (type == resource_type::cluster) {
      what = "the cluster";
    } else {
      std::string patterns;
      for (const auto& p : rule->resources)
        if (name.empty() || p.matches(name)) patterns += (patterns.empty() ? "" : ", ") + p.str();
      if (patterns.empty()) continue;
      what = std::string(name_of(type)) + " " + patterns;
    }
    std::string ops;
    for (const auto op : rule->operations) ops += (ops.empty() ? "" : ", ") + std::string(name_of(op));
    out.push_back(std::string(rule->allow ? "allow " : "deny ") + ops + " on " + what + " (" + subject_words(rule->who) +
                  ", " + rule->at.str() + ")");
  }
  return out;
}

}  // namespace kgw::policies

#pragma once
// The ACL decisions for one principal, compiled from the rules that attach to it (by name, by
// one of its teams, or to everyone). Kafka semantics: deny by default once any ACL is
// configured; a deny rule wins over any allow; All matches every operation; Read, Write, Delete
// and Alter imply Describe; AlterConfigs implies DescribeConfigs.
// Threading: immutable after construction; shared by every worker thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"
#include "policies/acl/acl_config.h"

namespace kgw::policies {

class principal_acl {
 public:
  // section: the configuration generation's ACLs, kept alive by this (the ACL points into them).
  principal_acl(std::shared_ptr<const acl_section> section, const config::principal_config& principal);
  // The ACL section of `policies` (tests, offline tools).
  principal_acl(const config::policy_config& policies, const config::principal_config& principal);

  // False: no ACL is configured anywhere; every request is allowed.
  bool enabled() const { return enabled_; }
  bool allowed(acl_operation op, resource_type type, std::string_view name) const;
  // Why op on the resource is denied, for the audit trail: the deny rule that covers it
  // (file:line:col), or "" when none does (no allow rule grants it: Kafka's default deny).
  std::string denying_rule(acl_operation op, resource_type type, std::string_view name) const;
  // Kafka's authorizeByResourceType (KIP-679): some resource of this type allows op, i.e. an
  // allow rule grants it and no deny rule for it covers every name. InitProducerId uses it
  // (an idempotent producer needs Write on some topic, or IdempotentWrite on the cluster).
  bool allowed_on_some(acl_operation op, resource_type type) const;
  // Kafka's authorized-operations bit field (bit = AclOperation code: Read 3, Write 4, Create 5,
  // Delete 6, Alter 7, Describe 8, ClusterAction 9, DescribeConfigs 10, AlterConfigs 11,
  // IdempotentWrite 12) for Metadata's and DescribeGroups' *_authorized_operations.
  std::int32_t authorized_operations(resource_type type, std::string_view name) const;
  // An API key the gateway cannot authorize that the config says to relay anyway.
  bool pass_through(std::int16_t api_key) const;

  // The rules that apply, in plain words (for `kafka-gateway explain`).
  std::vector<std::string> describe(resource_type type, std::string_view name) const;

 private:
  bool enabled_ = false;
  std::shared_ptr<const acl_section> section_;
  std::vector<const acl_rule*> rules_;  // the rules attaching to this principal, in *section_
};

}  // namespace kgw::policies

#pragma once
// The ACL policy's part of the policy documents: its rules and the API keys relayed without
// authorization, read from these keys (policies/acl/acl_config.cpp):
//
//   acls:                                  # once any ACL exists, everything else is denied
//     - principals: [marketing]            # exactly one of: principals / teams / everyone: true
//       allow: [Read, Describe]            # or deny: [...]; Kafka operation names
//       topics: [customers, {prefix: "mkt-"}, {glob: "cust*.v?"}]
//       groups: [{prefix: marketing-}]
//       transactional_ids: [...]
//       cluster: true
//   pass_through_apis: [DescribeAcls, 29]  # API names or keys relayed without authorization
//
// ACLs do not use levels: every rule attaching to a principal counts, and a deny wins
// (policies/acl/principal_acl.h).
// Threading: plain values, read-only after loading.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/policy_config.h"

namespace kgw::policies {

enum class acl_operation { read, write, create, delete_, alter, describe, describe_configs, alter_configs,
                           idempotent_write, all };
enum class resource_type { topic, group, transactional_id, cluster };

const char* name_of(acl_operation op);   // Kafka's spelling: "Read", "IdempotentWrite", ...
const char* name_of(resource_type type);  // "topic", "group", "transactional_id", "cluster"
std::optional<resource_type> resource_type_named(std::string_view name);  // the inverse of name_of

// The operation Kafka's authorizer checks when an API touches a resource of this type (what an
// audit event of a denied entry names): Produce on a topic is Write, OffsetCommit on a group
// Read, CreateTopics Create, ... Describe where an API only looks.
acl_operation operation_for(std::int16_t api_key, resource_type type);

struct acl_rule {
  config::subject who;
  bool allow = true;  // false: deny (deny wins over allow)
  std::vector<acl_operation> operations;
  resource_type type = resource_type::topic;
  std::vector<config::resource_pattern> resources;  // empty for the cluster resource
  config::source_mark at;
  bool operator==(const acl_rule&) const = default;
};

struct acl_section final : config::section_of<acl_section> {
  std::vector<acl_rule> rules;
  std::vector<std::int16_t> pass_through_apis;  // relayed without authorization when ACLs are on

  bool enabled() const { return !rules.empty(); }
  bool passes_through(std::int16_t api_key) const {
    for (auto k : pass_through_apis)
      if (k == api_key) return true;
    return false;
  }
  bool empty() const override { return rules.empty(); }
  std::string summary() const override;
  bool operator==(const acl_section&) const = default;
};

extern const config::section_reader acl_section_reader;

}  // namespace kgw::policies

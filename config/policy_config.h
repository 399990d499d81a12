#pragma once
// The policy model: ACLs, views (row filters and field masks) and produce validation, as loaded
// from YAML by config/policy_loader. Policies attach to principals, to teams or to everyone.
// policies/policy_set compiles them once per (principal, topic); nothing here is looked at per
// record.
//
// YAML (inline under `policies:` in the gateway config, or in the files/directories that
// `policies:` names; every document has the same shape):
//
//   acls:                                  # once any ACL exists, everything else is denied
//     - principals: [marketing]            # exactly one of: principals / teams / everyone: true
//       allow: [Read, Describe]            # or deny: [...]; Kafka operation names
//       topics: [customers, {prefix: "mkt-"}, {glob: "cust*.v?"}]
//       groups: [{prefix: marketing-}]
//       transactional_ids: [...]
//       cluster: true
//   pass_through_apis: [DescribeAcls, 29]  # API names or keys relayed without authorization
//   views:                                 # what a principal sees of a topic's records
//     - principals: [marketing]
//       topics: [customers]
//       where: consent.marketing == true   # row filter (policies/row_filter/predicate.h)
//       mask:
//         - { field: email, function: partial, keep_domain: true }   # ***@domain.com
//         - { fields: [phone, fax], function: remove }
//         - { field: card, function: partial, keep_last: 4 }
//         - { field: name, function: hash }                     # HMAC-SHA-256(hash_key), hex
//         - { field: ssn, function: redact, replacement: "[hidden]" }
//         - { field: note, function: "null" }
//         - { in: key, field: email, function: hash }           # JSON keys too
//         - { in: header, header: trace, function: redact }     # whole header value
//       on_invalid_json: drop              # or {replace_with: '{"invalid": true}'}
//   validation:                            # produce side
//     - everyone: true
//       topics: [customers]
//       require_json: true
//       required_fields: [id, email]
//   hash_key: {env: KGW_HASH_KEY}          # secret for `hash` masks (inline, file or env)
//
// Which views apply: those naming the principal; if none, those naming one of its teams; if
// none, those for everyone. All views of the chosen level combine: a record must match every
// `where`, and every mask applies.
// Threading: plain values, read-only after loading.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::config {

// Where a rule was written, for messages and `explain`.
struct source_mark {
  std::string file;
  int line = 0, column = 0;  // 1-based
  std::string str() const { return file + ":" + std::to_string(line) + ":" + std::to_string(column); }
  bool operator==(const source_mark&) const = default;
};

enum class pattern_type { literal, prefix, glob };  // glob: '*' any run, '?' one character

struct resource_pattern {
  pattern_type type = pattern_type::literal;
  std::string text;
  bool matches(std::string_view name) const;  // defined in config/policy_config.cpp
  std::string str() const;                    // "customers", "prefix mkt-", "glob cust*"
  bool operator==(const resource_pattern&) const = default;
};

// Who a rule attaches to.
struct subject {
  enum class kind { principals, teams, everyone };
  kind what = kind::everyone;
  std::vector<std::string> names;  // principal names (without "User:") or team names
  bool operator==(const subject&) const = default;
};

enum class acl_operation { read, write, create, delete_, alter, describe, describe_configs, alter_configs,
                           idempotent_write, all };
enum class resource_type { topic, group, transactional_id, cluster };

const char* name_of(acl_operation op);   // Kafka's spelling: "Read", "IdempotentWrite", ...
const char* name_of(resource_type type);  // "topic", "group", "transactional_id", "cluster"

struct acl_rule {
  subject who;
  bool allow = true;  // false: deny (deny wins over allow)
  std::vector<acl_operation> operations;
  resource_type type = resource_type::topic;
  std::vector<resource_pattern> resources;  // empty for the cluster resource
  source_mark at;
  bool operator==(const acl_rule&) const = default;
};

enum class mask_function { redact, partial, hash, null, remove };
enum class mask_target { value, key, header };

struct mask_rule {
  mask_target target = mask_target::value;
  std::string header;               // target header: the header's key
  std::vector<std::string> fields;  // selectors as written: "email", "address.street", "items[*].card";
                                    // empty: the whole key or header value
  mask_function function = mask_function::redact;
  std::string replacement = "***";  // redact: the fixed string; partial: what replaces the hidden part
  int keep_last = 0;                // partial: characters kept at the end
  bool keep_domain = false;         // partial: keep "@domain" of an e-mail address
  source_mark at;
  bool operator==(const mask_rule&) const = default;
};

enum class invalid_json_action { drop, replace };

struct view_rule {
  subject who;
  std::vector<resource_pattern> topics;
  std::string where;  // predicate text; empty: every record. Checked when loaded.
  source_mark where_at;
  std::vector<mask_rule> masks;
  invalid_json_action on_invalid_json = invalid_json_action::drop;
  std::string invalid_json_replacement;  // replace: the value delivered instead
  source_mark at;
  bool operator==(const view_rule&) const = default;
};

struct validation_rule {
  subject who;
  std::vector<resource_pattern> topics;
  bool require_json = false;
  std::vector<std::string> required_fields;  // selectors, as for masks; implies require_json
  source_mark at;
  bool operator==(const validation_rule&) const = default;
};

struct policy_config {
  std::vector<acl_rule> acls;
  std::vector<view_rule> views;
  std::vector<validation_rule> validations;
  std::vector<std::int16_t> pass_through_apis;  // relayed without authorization when ACLs are on
  std::string hash_key;                          // secret for `hash` masks
  std::vector<std::string> files;                // the policy files loaded, in order
  std::vector<std::string> paths;                // the files and directories `policies:` names

  bool acls_enabled() const { return !acls.empty(); }
  bool passes_through(std::int16_t api_key) const {
    for (auto k : pass_through_apis)
      if (k == api_key) return true;
    return false;
  }
  bool empty() const { return acls.empty() && views.empty() && validations.empty(); }
  bool operator==(const policy_config&) const = default;
};

}  // namespace kgw::config

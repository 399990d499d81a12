// The ACL policy's section reader: see policies/acl/acl_config.h. Operations are checked
// against the resource types Kafka allows them on, so a rule Kafka would reject is an error here.
#include "policies/acl/acl_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "policies/policy_reader.h"
#include "protocol/api_keys.h"

namespace kgw::policies {
namespace {

using config::resource_pattern;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Every operation an ACL may name, in the order messages list them (their names: name_of).
constexpr acl_operation acl_operations[] = {
    acl_operation::read,  acl_operation::write,    acl_operation::create,           acl_operation::delete_,
    acl_operation::alter, acl_operation::describe, acl_operation::describe_configs, acl_operation::alter_configs,
    acl_operation::idempotent_write, acl_operation::all,
};

// The operations Kafka accepts in an ACL for each resource type (AclEntry.supportedOperations;
// ClusterAction is broker-to-broker and not modelled here).
bool applies_to(acl_operation op, resource_type type) {
  using o = acl_operation;
  if (op == o::all) return true;
  switch (type) {
    case resource_type::topic:
      return op == o::read || op == o::write || op == o::create || op == o::delete_ || op == o::alter ||
             op == o::describe || op == o::describe_configs || op == o::alter_configs;
    case resource_type::group: return op == o::read || op == o::describe || op == o::delete_;
    case resource_type::transactional_id: return op == o::write || op == o::describe;
    case resource_type::cluster:
      return op == o::create || op == o::alter || op == o::describe || op == o::describe_configs ||
             op == o::alter_configs || op == o::idempotent_write;
  }
  return false;
}

const char* plural_of(resource_type type) {
  switch (type) {
    case resource_type::topic: return "topics";
    case resource_type::group: return "groups";
    case resource_type::transactional_id: return "transactional ids";
    case resource_type::cluster: return "the cluster";
  }
  return "?";
}

class acl_reader : public policy_reader {
 public:
  using policy_reader::policy_reader;

  void read(std::string_view key, const YAML::Node& value, acl_section& into) const {
    if (key == "pass_through_apis") return pass_through(value, into);
    for (const auto& e : sequence(value, "acls")) entry(e, into);
  }

  void entry(const YAML::Node& e, acl_section& into) const {
    const std::string what = "acl";
    require_map(e, "an acls entry");
    only_keys(e, "an acls entry",
              {"principals", "teams", "everyone", "allow", "deny", "topics", "groups", "transactional_ids", "cluster"});
    acl_rule base;
    base.who = who(e, what);
    base.at = mark_of(e);
    const auto allow = e["allow"], deny = e["deny"];
    if (allow && deny) fail(deny, "an acls entry has both 'allow' and 'deny': write two entries");
    if (!allow && !deny) fail(e, "an acls entry needs 'allow: [operations]' or 'deny: [operations]'");
    base.allow = static_cast<bool>(allow);
    const YAML::Node ops_node = allow ? allow : deny;
    const std::string ops_what = allow ? "allow" : "deny";
    std::vector<std::pair<acl_operation, YAML::Node>> ops;
    for (const auto& o : items(ops_node, ops_what)) {
      const std::string name = scalar(o, ops_what + " entry");
      const auto* hit = std::find_if(std::begin(acl_operations), std::end(acl_operations),
                                     [&](acl_operation x) { return iequals(name_of(x), name); });
      if (hit == std::end(acl_operations)) {
        std::string list;
        for (const auto x : acl_operations) list += std::string(list.empty() ? "" : ", ") + name_of(x);
        fail(o, "unknown operation '" + name + "' (expected one of: " + list + ")");
      }
      if (std::none_of(ops.begin(), ops.end(), [&](const auto& p) { return p.first == *hit; }))
        ops.emplace_back(*hit, o);
    }
    for (const auto& op : ops) base.operations.push_back(op.first);

    auto add = [&](resource_type type, std::vector<resource_pattern> resources) {
      for (const auto& [op, node] : ops) {
        if (applies_to(op, type)) continue;
        std::string list;
        for (const auto x : acl_operations)
          if (applies_to(x, type)) list += std::string(list.empty() ? "" : ", ") + name_of(x);
        fail(node, std::string(name_of(op)) + " does not apply to " + plural_of(type) + " (Kafka allows on " +
                       plural_of(type) + ": " + list + ")");
      }
      acl_rule r = base;
      r.type = type;
      r.resources = std::move(resources);
      into.rules.push_back(std::move(r));
    };
    bool any = false;
    if (auto n = e["topics"]) {
      add(resource_type::topic, patterns(n, "topics", true));
      any = true;
    }
    if (auto n = e["groups"]) {
      add(resource_type::group, patterns(n, "groups", false));
      any = true;
    }
    if (auto n = e["transactional_ids"]) {
      add(resource_type::transactional_id, patterns(n, "transactional_ids", false));
      any = true;
    }
    if (auto n = e["cluster"]) {
      if (!boolean(n, "cluster")) fail(n, "'cluster' can only be true (leave it out otherwise)");
      add(resource_type::cluster, {});
      any = true;
    }
    if (!any) fail(e, "an acls entry needs at least one of 'topics', 'groups', 'transactional_ids' or 'cluster: true'");
  }

  void pass_through(const YAML::Node& n, acl_section& into) const {
    for (const auto& e : items(n, "pass_through_apis")) {
      const std::string s = scalar(e, "pass_through_apis entry");
      std::int16_t key = -1;
      if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
        key = static_cast<std::int16_t>(integer(e, "pass_through_apis entry", 0, 32767));
      } else {
        for (const auto& a : protocol::api_names)
          if (iequals(a.name, s)) key = a.key;
        if (key < 0) fail(e, "unknown Kafka API '" + s + "' in pass_through_apis (use its name, e.g. DescribeAcls, or its key, e.g. 29)");
      }
      if (std::find(into.pass_through_apis.begin(), into.pass_through_apis.end(), key) == into.pass_through_apis.end())
        into.pass_through_apis.push_back(key);
    }
  }
};

constexpr const char* section_keys[] = {"acls", "pass_through_apis"};

}  // namespace

const config::section_reader acl_section_reader{section_keys, acl_section::make,
                                                   read_section<acl_reader, acl_section>};

std::string acl_section::summary() const {
  return std::to_string(rules.size()) + (rules.size() == 1 ? " ACL rule" : " ACL rules");
}

const char* name_of(acl_operation op) {
  switch (op) {
    case acl_operation::read: return "Read";
    case acl_operation::write: return "Write";
    case acl_operation::create: return "Create";
    case acl_operation::delete_: return "Delete";
    case acl_operation::alter: return "Alter";
    case acl_operation::describe: return "Describe";
    case acl_operation::describe_configs: return "DescribeConfigs";
    case acl_operation::alter_configs: return "AlterConfigs";
    case acl_operation::idempotent_write: return "IdempotentWrite";
    case acl_operation::all: return "All";
  }
  return "?";
}

const char* name_of(resource_type type) {
  switch (type) {
    case resource_type::topic: return "topic";
    case resource_type::group: return "group";
    case resource_type::transactional_id: return "transactional_id";
    case resource_type::cluster: return "cluster";
  }
  return "?";
}

std::optional<resource_type> resource_type_named(std::string_view name) {
  for (const auto t : {resource_type::topic, resource_type::group, resource_type::transactional_id, resource_type::cluster})
    if (name == name_of(t)) return t;
  return std::nullopt;
}

acl_operation operation_for(std::int16_t api_key, resource_type type) {
  using o = acl_operation;
  using t = resource_type;
  namespace api = protocol::api;
  switch (api_key) {
    case api::produce: return o::write;
    case api::fetch: return o::read;
    case api::offset_commit:
    case api::txn_offset_commit: return type == t::transactional_id ? o::write : o::read;
    case api::join_group:
    case api::heartbeat:
    case api::leave_group:
    case api::sync_group:
    case api::consumer_group_heartbeat: return type == t::group ? o::read : o::describe;
    case api::add_partitions_to_txn:
    case api::end_txn: return o::write;
    case api::add_offsets_to_txn: return type == t::group ? o::read : o::write;
    case api::init_producer_id: return type == t::cluster ? o::idempotent_write : o::write;
    case api::offset_delete: return type == t::group ? o::delete_ : o::read;
    case api::describe_producers: return o::read;
    case api::create_topics: return o::create;
    case api::delete_topics:
    case api::delete_records:
    case api::delete_groups: return o::delete_;
    case api::create_partitions: return o::alter;
    case api::describe_configs: return o::describe_configs;
    case api::alter_configs:
    case api::incremental_alter_configs: return o::alter_configs;
    default: return o::describe;
  }
}

}  // namespace kgw::policies

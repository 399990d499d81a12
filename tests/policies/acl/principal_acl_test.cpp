// principal_acl: Kafka's ACL semantics for one principal (deny wins, All, implied Describe and
// DescribeConfigs, literal/prefix/glob/wildcard names, rules by principal, team or everyone),
// the authorized-operations bit field and pass-through APIs.
#include <catch2/catch.hpp>

#include "config/loader.h"
#include "policies/acl/principal_acl.h"
#include "policies/registry.h"
#include "tests/support/with_policies.h"

using kgw::policies::acl_operation;
using kgw::policies::resource_type;
using kgw::policies::principal_acl;

namespace {

kgw::config::gateway_config load(const std::string& policies) {
  auto c = kgw::config::load_string(R"(
upstream: { bootstrap: [a:1] }
principals:
  alice: { teams: [sales, readers] }
  bob: { teams: [readers] }
  carol: {}
policies:
)" + policies,
                                    "acl.yaml", kgw::testing::with_policies());
  if (!c) FAIL(c.error());
  return std::move(*c);
}

kgw::config::principal_config who(const kgw::config::gateway_config& c, const std::string& name) {
  auto it = c.principals.find(name);
  if (it != c.principals.end()) return it->second;
  kgw::config::principal_config p;
  p.name = name;
  return p;
}

constexpr auto topic = resource_type::topic;
constexpr auto group = resource_type::group;

}  // namespace

TEST_CASE("no ACL configured: everything is allowed") {
  const auto c = load("  views: []\n");
  const principal_acl acl(c.policies, who(c, "alice"));
  CHECK_FALSE(acl.enabled());
  CHECK(acl.allowed(acl_operation::write, topic, "anything"));
  CHECK(acl.allowed(acl_operation::alter, resource_type::cluster, ""));
  // With no authorizer Kafka reports every operation the resource type supports.
  CHECK(acl.authorized_operations(group, "g") == ((1 << 3) | (1 << 6) | (1 << 8)));
}

TEST_CASE("allow, default deny and deny wins") {
  const auto c = load(R"(
    acls:
      - principals: [alice]
        allow: [Read, Write]
        topics: [orders, {prefix: "sales-"}]
      - principals: ["User:alice"]
        deny: [write]
        topics: [{prefix: sales-secret}]
)");
  const principal_acl acl(c.policies, who(c, "alice"));
  CHECK(acl.enabled());
  CHECK(acl.allowed(acl_operation::read, topic, "orders"));
  CHECK(acl.allowed(acl_operation::write, topic, "sales-eu"));
  CHECK_FALSE(acl.allowed(acl_operation::create, topic, "orders"));   // not granted
  CHECK_FALSE(acl.allowed(acl_operation::read, topic, "payments"));   // no rule: denied once ACLs exist
  CHECK_FALSE(acl.allowed(acl_operation::read, group, "orders"));     // other resource type
  CHECK_FALSE(acl.allowed(acl_operation::write, topic, "sales-secret-1"));  // deny wins over the prefix allow
  CHECK(acl.allowed(acl_operation::read, topic, "sales-secret-1"));        // the deny names Write only
  // Another principal gets nothing from alice's rules.
  const principal_acl bob(c.policies, who(c, "bob"));
  CHECK(bob.enabled());
  CHECK_FALSE(bob.allowed(acl_operation::read, topic, "orders"));
}

TEST_CASE("All and the implied operations") {
  const auto c = load(R"(
    acls:
      - principals: [alice]
        allow: [All]
        topics: [everything]
      - principals: [alice]
        allow: [Read]
        topics: [r]
      - principals: [alice]
        allow: [Write]
        topics: [w]
      - principals: [alice]
        allow: [Delete]
        topics: [d]
      - principals: [alice]
        allow: [Alter]
        topics: [a]
      - principals: [alice]
        allow: [AlterConfigs]
        topics: [ac]
      - principals: [alice]
        allow: [Create]
        topics: [c]
      - principals: [alice]
        deny: [All]
        topics: [d]
)");
  const principal_acl acl(c.policies, who(c, "alice"));
  for (auto op : {acl_operation::read, acl_operation::write, acl_operation::create, acl_operation::delete_,
                  acl_operation::alter, acl_operation::describe, acl_operation::describe_configs,
                  acl_operation::alter_configs})
    CHECK(acl.allowed(op, topic, "everything"));
  for (const char* t : {"r", "w", "a"}) {
    CHECK(acl.allowed(acl_operation::describe, topic, t));
    CHECK_FALSE(acl.allowed(acl_operation::describe_configs, topic, t));
  }
  CHECK_FALSE(acl.allowed(acl_operation::write, topic, "r"));
  CHECK_FALSE(acl.allowed(acl_operation::describe, topic, "c"));  // Create implies nothing
  CHECK(acl.allowed(acl_operation::describe_configs, topic, "ac"));
  CHECK_FALSE(acl.allowed(acl_operation::describe, topic, "ac"));
  // deny All on d overrides its Delete (and the Describe it implied).
  CHECK_FALSE(acl.allowed(acl_operation::delete_, topic, "d"));
  CHECK_FALSE(acl.allowed(acl_operation::describe, topic, "d"));
}

TEST_CASE("a deny of Read does not deny the Describe another allow implies") {
  const auto c = load(R"(
    acls:
      - { principals: [alice], allow: [Read], topics: [t] }
      - { principals: [alice], deny: [Read], topics: [t] }
)");
  const principal_acl acl(c.policies, who(c, "alice"));
  CHECK_FALSE(acl.allowed(acl_operation::read, topic, "t"));
  CHECK(acl.allowed(acl_operation::describe, topic, "t"));  // as Kafka: implication is for allows only
}

TEST_CASE("literal, prefix, glob and wildcard names") {
  const auto c = load(R"(
    acls:
      - principals: [alice]
        allow: [Read]
        topics: [exact, {prefix: "mkt-"}, {glob: "cust*.v?"}]
      - principals: [bob]
        allow: [Describe]
        topics: ["*"]
      - principals: [bob]
        allow: [Read]
        groups: [{glob: "*-reports-*"}]
)");
  const principal_acl alice(c.policies, who(c, "alice"));
  CHECK(alice.allowed(acl_operation::read, topic, "exact"));
  CHECK_FALSE(alice.allowed(acl_operation::read, topic, "exact2"));
  CHECK_FALSE(alice.allowed(acl_operation::read, topic, "exac"));
  CHECK(alice.allowed(acl_operation::read, topic, "mkt-"));
  CHECK(alice.allowed(acl_operation::read, topic, "mkt-leads"));
  CHECK_FALSE(alice.allowed(acl_operation::read, topic, "mkt"));
  CHECK(alice.allowed(acl_operation::read, topic, "customers.v1"));
  CHECK(alice.allowed(acl_operation::read, topic, "cust.v2"));
  CHECK_FALSE(alice.allowed(acl_operation::read, topic, "customers.v10"));
  CHECK_FALSE(alice.allowed(acl_operation::read, topic, "xcustomers.v1"));
  CHECK_FALSE(alice.allowed(acl_operation::read, topic, "*"));  // a name, not a pattern, for alice
  const principal_acl bob(c.policies, who(c, "bob"));
  CHECK(bob.allowed(acl_operation::describe, topic, "anything-at-all"));
  CHECK(bob.allowed(acl_operation::describe, topic, ""));
  CHECK_FALSE(bob.allowed(acl_operation::read, topic, "anything-at-all"));
  CHECK(bob.allowed(acl_operation::read, group, "eu-reports-daily"));
  CHECK(bob.allowed(acl_operation::read, group, "-reports-"));
  CHECK_FALSE(bob.allowed(acl_operation::read, group, "eu-reports"));
}

TEST_CASE("glob matching backtracks and does not blow up") {
  kgw::config::resource_pattern p{kgw::config::pattern_type::glob, "a*a*a*a*a*b"};
  CHECK_FALSE(p.matches(std::string(5000, 'a')));
  CHECK(p.matches(std::string(5000, 'a') + "b"));
  kgw::config::resource_pattern q{kgw::config::pattern_type::glob, "*?x"};
  CHECK(q.matches("ax"));
  CHECK_FALSE(q.matches("x"));
  CHECK(p.str() == "glob a*a*a*a*a*b");
  CHECK(kgw::config::resource_pattern{kgw::config::pattern_type::prefix, "mkt-"}.str() == "prefix mkt-");
}

TEST_CASE("rules attach by principal, by team and to everyone") {
  const auto c = load(R"(
    acls:
      - { teams: [sales], allow: [Write], topics: [leads] }
      - { teams: [readers], allow: [Read], topics: [news] }
      - { everyone: true, allow: [Describe], topics: [public] }
      - { everyone: true, deny: [Read], topics: [news-private] }
      - { teams: [readers], allow: [Read], topics: [news-private] }
)");
  const principal_acl alice(c.policies, who(c, "alice"));  // sales, readers
  const principal_acl bob(c.policies, who(c, "bob"));      // readers
  const principal_acl carol(c.policies, who(c, "carol"));  // no team
  const principal_acl stranger(c.policies, who(c, "stranger"));  // not in the config at all
  CHECK(alice.allowed(acl_operation::write, topic, "leads"));
  CHECK_FALSE(bob.allowed(acl_operation::write, topic, "leads"));
  CHECK(alice.allowed(acl_operation::read, topic, "news"));
  CHECK(bob.allowed(acl_operation::read, topic, "news"));
  CHECK_FALSE(carol.allowed(acl_operation::read, topic, "news"));
  for (const auto* acl : {&alice, &bob, &carol, &stranger}) {
    CHECK(acl->allowed(acl_operation::describe, topic, "public"));
    CHECK_FALSE(acl->allowed(acl_operation::read, topic, "news-private"));  // everyone's deny wins over the team allow
  }
  CHECK_FALSE(stranger.allowed(acl_operation::describe, topic, "news"));
}

TEST_CASE("authorized operations bit field") {
  const auto c = load(R"(
    acls:
      - { principals: [alice], allow: [Read, Write], topics: [t] }
      - { principals: [alice], allow: [AlterConfigs], topics: [cfg] }
      - { principals: [alice], allow: [All], topics: [own] }
      - { principals: [alice], allow: [Read], groups: [g] }
      - { principals: [alice], allow: [IdempotentWrite, Describe], cluster: true }
      - { principals: [alice], allow: [Write], transactional_ids: [{prefix: tx-}] }
)");
  const principal_acl acl(c.policies, who(c, "alice"));
  // Read 3, Write 4, Describe 8 (implied).
  CHECK(acl.authorized_operations(topic, "t") == ((1 << 3) | (1 << 4) | (1 << 8)));
  // AlterConfigs 11 and DescribeConfigs 10 (implied).
  CHECK(acl.authorized_operations(topic, "cfg") == ((1 << 10) | (1 << 11)));
  // All: every topic operation, Read 3 .. Describe 8, DescribeConfigs 10, AlterConfigs 11; no
  // IdempotentWrite (12), which is not a topic operation.
  CHECK(acl.authorized_operations(topic, "own") ==
        ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11)));
  CHECK(acl.authorized_operations(topic, "other") == 0);
  CHECK(acl.authorized_operations(group, "g") == ((1 << 3) | (1 << 8)));
  CHECK(acl.authorized_operations(resource_type::cluster, "") == ((1 << 8) | (1 << 12)));
  CHECK(acl.authorized_operations(resource_type::transactional_id, "tx-1") == ((1 << 4) | (1 << 8)));
  CHECK(acl.allowed(acl_operation::idempotent_write, resource_type::cluster, ""));
  CHECK_FALSE(acl.allowed(acl_operation::create, resource_type::cluster, ""));
}

TEST_CASE("pass-through APIs by name and number") {
  const auto c = load(R"(
    acls: [ { everyone: true, allow: [Read], topics: [t] } ]
    pass_through_apis: [DescribeAcls, describelogdirs, 61]
)");
  const principal_acl acl(c.policies, who(c, "carol"));
  CHECK(acl.pass_through(29));
  CHECK(acl.pass_through(35));
  CHECK(acl.pass_through(61));
  CHECK_FALSE(acl.pass_through(30));
  CHECK_FALSE(acl.pass_through(0));
}

TEST_CASE("describe says which rules apply, in plain words with their source") {
  const auto c = load(R"(
    acls:
      - principals: [alice]
        allow: [Read, Describe]
        topics: [customers, {prefix: cust}]
      - teams: [sales]
        deny: [Write]
        topics: [customers]
      - everyone: true
        allow: [Read]
        groups: [{prefix: alice-}, reports]
      - teams: [readers]
        allow: [Describe]
        cluster: true
      - principals: [bob]
        allow: [All]
        topics: [customers]
)");
  const principal_acl acl(c.policies, who(c, "alice"));
  const auto lines = acl.describe(topic, "customers");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "allow Read, Describe on topic customers, prefix cust (principal alice, acl.yaml:10:9)");
  CHECK(lines[1] == "deny Write on topic customers (team sales, acl.yaml:13:9)");
  CHECK(acl.describe(topic, "cust-2") == std::vector<std::string>{"allow Read, Describe on topic prefix cust (principal alice, acl.yaml:10:9)"});
  CHECK(acl.describe(topic, "orders").empty());
  CHECK(acl.describe(group, "") == std::vector<std::string>{"allow Read on group prefix alice-, reports (everyone, acl.yaml:16:9)"});
  CHECK(acl.describe(resource_type::cluster, "") == std::vector<std::string>{"allow Describe on the cluster (team readers, acl.yaml:19:9)"});
}

TEST_CASE("allowed on some resource of a type, as Kafka's authorizeByResourceType") {
  const auto c = load(R"(
  acls:
    - { principals: [alice], allow: [Write], topics: [{prefix: orders-}] }
    - { principals: [bob], allow: [Read], topics: [customers] }
    - { principals: [carol], allow: [Write], topics: [orders] }
    - { principals: [carol], deny: [Write], topics: ["*"] }
)");
  const principal_acl alice(c.policies, who(c, "alice")), bob(c.policies, who(c, "bob")), carol(c.policies, who(c, "carol"));
  CHECK(alice.allowed_on_some(acl_operation::write, topic));
  CHECK_FALSE(bob.allowed_on_some(acl_operation::write, topic));  // Read does not grant Write
  CHECK(bob.allowed_on_some(acl_operation::describe, topic));     // Read implies Describe
  CHECK_FALSE(carol.allowed_on_some(acl_operation::write, topic));  // denied on every topic
  CHECK_FALSE(alice.allowed_on_some(acl_operation::write, group));
}

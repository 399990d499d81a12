// Policy documents: inline under `policies:`, from files and directories, merged in order; every
// error with the file:line:col of the offending node (or character, inside predicates).
#include <catch2/catch.hpp>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "config/policy_loader.h"
#include "policies/acl/acl_config.h"
#include "policies/encryption/encryption_config.h"
#include "policies/registry.h"
#include "policies/row_filter/predicate_syntax.h"
#include "policies/validation/validation_config.h"
#include "policies/view/view_config.h"
#include "tests/support/with_policies.h"

using namespace kgw::config;
using namespace kgw::policies;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path dir = fs::temp_directory_path() / ("kgw-pol-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  temp_dir() { fs::create_directories(dir); }
  ~temp_dir() { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << text;
    return dir / name;
  }
  static inline int counter = 0;
};

const std::string head = "upstream: { bootstrap: [k:9092] }\npolicies:\n";

// The gateway's loaders, with every policy's section reader.
std::expected<gateway_config, std::string> load(std::string_view yaml, const std::string& source) {
  return load_string(yaml, source, kgw::testing::with_policies());
}
std::expected<gateway_config, std::string> load_path(const std::string& path) {
  return load_file(path, kgw::testing::with_policies());
}

// The merged sections, by the names the documents give them.
struct merged {
  explicit merged(const policy_config& c)
      : files(c.files), acls_(c.section<acl_section>()), views_(c.section<view_section>()), checks_(c.section<validation_section>()) {}
  const std::vector<std::string>& files;
  std::shared_ptr<const acl_section> acls_;
  std::shared_ptr<const view_section> views_;
  std::shared_ptr<const validation_section> checks_;
  const std::vector<acl_rule>& acls = acls_->rules;
  const std::vector<std::int16_t>& pass_through_apis = acls_->pass_through_apis;
  const std::vector<view_rule>& views = views_->views;
  const std::string& hash_key = views_->hash_key;
  const std::vector<validation_rule>& validations = checks_->rules;
  bool acls_enabled() const { return acls_->enabled(); }
};

// The error of a gateway config whose `policies:` holds `body` (indented by the caller); line 3
// of the file is the first line of body.
std::string error_of(const std::string& body) {
  auto c = load(head + body, "gw.yaml");
  if (c) FAIL("expected an error for:\n" << body);
  return c.error();
}

}  // namespace

TEST_CASE("a full policy document loads inline") {
  ::setenv("KGW_TEST_HASH_KEY", "0123456789abcdef0123", 1);
  auto c = load(head + R"(
  acls:
    - principals: [marketing, "User:analytics"]
      allow: [Read, describe]
      topics: [customers, {prefix: "mkt-"}, {glob: "cust*.v?"}, "*"]
      groups: [{prefix: marketing-}]
    - teams: [producers]
      deny: [Write]
      topics: [audit]
      transactional_ids: [{glob: "tx-?"}]
    - everyone: true
      allow: [IdempotentWrite, DescribeConfigs]
      cluster: true
  pass_through_apis: [DescribeAcls, 35, describeproducers]
  views:
    - principals: [marketing]
      topics: [customers]
      where: consent.marketing == true
      mask:
        - { field: email, function: partial, keep_domain: true }
        - { fields: [phone, fax], function: remove }
        - { field: card, function: partial, keep_last: 4, replacement: "#" }
        - { field: name, function: hash }
        - { field: ssn, function: redact, replacement: "[hidden]" }
        - { field: note, function: null }
        - { field: note2, function: "null" }
        - { in: key, field: email, function: hash }
        - { in: key, function: redact }
        - { in: header, header: trace, function: redact }
      on_invalid_json: drop
    - teams: [sales]
      topics: customers
      where: region == principal.territory
      on_invalid_json: { replace_with: '{"invalid": true}' }
  validation:
    - everyone: true
      topics: [customers]
      required_fields: [id, email]
    - teams: [producers]
      topics: [{prefix: raw-}]
      require_json: true
  hash_key: { env: KGW_TEST_HASH_KEY }
)",
                       "gw.yaml");
  REQUIRE(c);
  const merged p(c->policies);
  CHECK(p.acls_enabled());
  CHECK(p.files.empty());  // inline
  REQUIRE(p.acls.size() == 5);  // one rule per resource type of each entry
  const auto& a0 = p.acls[0];
  CHECK(a0.who.what == subject::kind::principals);
  CHECK(a0.who.names == std::vector<std::string>{"marketing", "analytics"});  // "User:" stripped
  CHECK(a0.allow);
  CHECK(a0.operations == std::vector{acl_operation::read, acl_operation::describe});
  CHECK(a0.type == resource_type::topic);
  REQUIRE(a0.resources.size() == 4);
  CHECK(a0.resources[0].type == pattern_type::literal);
  CHECK(a0.resources[1].type == pattern_type::prefix);
  CHECK(a0.resources[1].text == "mkt-");
  CHECK(a0.resources[2].type == pattern_type::glob);
  CHECK(a0.resources[3].matches("anything"));
  CHECK(a0.at.str() == "gw.yaml:5:7");
  CHECK(p.acls[1].type == resource_type::group);
  CHECK(p.acls[1].at.str() == "gw.yaml:5:7");
  CHECK(p.acls[2].type == resource_type::topic);
  CHECK_FALSE(p.acls[2].allow);
  CHECK(p.acls[2].who.what == subject::kind::teams);
  CHECK(p.acls[3].type == resource_type::transactional_id);
  CHECK(p.acls[3].resources[0].matches("tx-1"));
  CHECK(p.acls[4].type == resource_type::cluster);
  CHECK(p.acls[4].who.what == subject::kind::everyone);
  CHECK(p.acls[4].resources.empty());
  CHECK(p.acls[4].operations == std::vector{acl_operation::idempotent_write, acl_operation::describe_configs});
  CHECK(p.pass_through_apis == std::vector<std::int16_t>{29, 35, 61});

  REQUIRE(p.views.size() == 2);
  const auto& v = p.views[0];
  CHECK(v.where == "consent.marketing == true");
  CHECK(v.where_at.str() == "gw.yaml:20:14");
  CHECK(v.at.str() == "gw.yaml:18:7");
  CHECK(v.on_invalid_json == invalid_json_action::drop);
  REQUIRE(v.masks.size() == 10);
  CHECK(v.masks[0].function == mask_function::partial);
  CHECK(v.masks[0].keep_domain);
  CHECK(v.masks[0].replacement == "***");
  CHECK(v.masks[0].at.str() == "gw.yaml:22:11");
  CHECK(v.masks[1].fields == std::vector<std::string>{"phone", "fax"});
  CHECK(v.masks[1].function == mask_function::remove);
  CHECK(v.masks[2].keep_last == 4);
  CHECK(v.masks[2].replacement == "#");
  CHECK(v.masks[3].function == mask_function::hash);
  CHECK(v.masks[4].replacement == "[hidden]");
  CHECK(v.masks[5].function == mask_function::null);  // YAML null, unquoted
  CHECK(v.masks[6].function == mask_function::null);
  CHECK(v.masks[7].target == mask_target::key);
  CHECK(v.masks[8].target == mask_target::key);
  CHECK(v.masks[8].fields.empty());  // the whole key
  CHECK(v.masks[9].target == mask_target::header);
  CHECK(v.masks[9].header == "trace");
  const auto& s = p.views[1];
  CHECK(s.topics.size() == 1);  // a scalar stands for a list of one
  CHECK(s.on_invalid_json == invalid_json_action::replace);
  CHECK(s.invalid_json_replacement == R"({"invalid": true})");

  REQUIRE(p.validations.size() == 2);
  CHECK(p.validations[0].require_json);  // implied by required_fields
  CHECK(p.validations[0].required_fields == std::vector<std::string>{"id", "email"});
  CHECK(p.validations[1].require_json);
  CHECK(p.validations[1].required_fields.empty());
  CHECK(p.hash_key == "0123456789abcdef0123");
}

TEST_CASE("policies from a file and a directory merge in order") {
  temp_dir d;
  d.write("base.yaml", R"(acls:
  - { principals: [a], allow: [Read], topics: [t1] }
pass_through_apis: [DescribeAcls]
)");
  // Directory files load sorted by name; other extensions and subdirectories are ignored.
  d.write("policies.d/20-views.yml", R"(views:
  - { principals: [a], topics: [t1], where: "x == 2" }
hash_key: { file: ../hash.key }
)");
  d.write("policies.d/10-more.yaml", R"(acls:
  - { principals: [b], allow: [Write], topics: [t2] }
---
views:
  - { principals: [a], topics: [t1], where: "x == 1" }
)");
  d.write("policies.d/notes.txt", "not: [a policy\n");
  d.write("policies.d/sub/ignored.yaml", "acls: nonsense\n");
  d.write("hash.key", "a-hash-key-of-enough-length\n");
  const auto gw = d.write("gw.yaml", "upstream: { bootstrap: [k:9092] }\npolicies: [base.yaml, policies.d]\n");
  auto c = load_path(gw.string());
  REQUIRE(c);
  const merged p(c->policies);
  REQUIRE(p.files.size() == 3);
  CHECK(fs::path(p.files[0]).filename() == "base.yaml");
  CHECK(fs::path(p.files[1]).filename() == "10-more.yaml");
  CHECK(fs::path(p.files[2]).filename() == "20-views.yml");
  REQUIRE(p.acls.size() == 2);
  CHECK(p.acls[0].who.names[0] == "a");
  CHECK(p.acls[1].who.names[0] == "b");
  CHECK(fs::path(p.acls[1].at.file).filename() == "10-more.yaml");
  CHECK(p.acls[1].at.line == 2);
  REQUIRE(p.views.size() == 2);
  CHECK(p.views[0].where == "x == 1");  // the second document of 10-more.yaml
  CHECK(p.views[0].at.line == 5);
  CHECK(p.views[1].where == "x == 2");
  CHECK(p.pass_through_apis == std::vector<std::int16_t>{29});
  CHECK(p.hash_key == "a-hash-key-of-enough-length");  // relative to the file naming it, newline trimmed

  // A single file as a plain string.
  const auto gw2 = d.write("gw2.yaml", "upstream: { bootstrap: [k:9092] }\npolicies: base.yaml\n");
  auto c2 = load_path(gw2.string());
  REQUIRE(c2);
  CHECK(merged(c2->policies).acls.size() == 1);
}

TEST_CASE("policy file and directory errors") {
  temp_dir d;
  d.write("empty.d/readme.md", "nothing here\n");
  d.write("bad.yaml", "acls:\n  - { principals: [a], allow: [Reed], topics: [t] }\n");
  d.write("k1.yaml", "hash_key: 0123456789abcdef\n");
  d.write("k2.yaml", "views: []\nhash_key: { value: fedcba9876543210 }\n");
  auto err = [&](const std::string& policies) {
    const auto gw = d.write("gw.yaml", "upstream: { bootstrap: [k:9092] }\npolicies: " + policies + "\n");
    auto c = load_path(gw.string());
    if (c) FAIL("expected an error for policies: " << policies);
    return c.error();
  };
  const std::string dir = d.dir.string();
  CHECK(err("[k1.yaml, missing.yaml]") ==
        dir + "/gw.yaml:2:21: policies: no such policy file or directory '" + dir + "/missing.yaml'");
  CHECK(err("empty.d") == dir + "/gw.yaml:2:11: policies: directory '" + dir + "/empty.d' has no *.yaml or *.yml policy files");
  CHECK(err("bad.yaml") == dir + "/bad.yaml:2:32: unknown operation 'Reed' (expected one of: Read, Write, Create, "
                                 "Delete, Alter, Describe, DescribeConfigs, AlterConfigs, IdempotentWrite, All)");
  CHECK(err("[k1.yaml, k2.yaml]") == dir + "/k2.yaml:2:11: hash_key is given twice: here and at " + dir +
                                         "/k1.yaml:1:11 (give it in one policy document)");
  CHECK(err("[]") == dir + "/gw.yaml:2:11: 'policies' must name at least one policy file or directory");
  CHECK(err("[{a: 1}]") == dir + "/gw.yaml:2:12: policies entry must be a scalar");
  d.write("syntax.yaml", "acls: [unclosed\n");
  CHECK(err("syntax.yaml").starts_with(dir + "/syntax.yaml:"));
}

TEST_CASE("policy errors point at the offending node") {
  // Line 3 is the first line of the body.
  CHECK(error_of("  acl: []\n") ==
        "gw.yaml:3:3: unknown key 'acl' in the policy document (expected one of: acls, views, validation, encryption, quotas, "
        "pass_through_apis, hash_key)");
  CHECK(error_of("  acls: {}\n") == "gw.yaml:3:9: 'acls' must be a list");
  CHECK(error_of("  acls:\n    - { allow: [Read], topics: [t] }\n") ==
        "gw.yaml:4:7: acl needs one of 'principals', 'teams' or 'everyone: true'");
  CHECK(error_of("  acls:\n    - { principals: [a], teams: [b], allow: [Read], topics: [t] }\n") ==
        "gw.yaml:4:26: acl names 'principals' and 'teams': give exactly one of 'principals', 'teams' or 'everyone: true'");
  CHECK(error_of("  acls:\n    - { everyone: false, allow: [Read], topics: [t] }\n") ==
        "gw.yaml:4:19: acl: 'everyone' can only be true (or name principals or teams)");
  CHECK(error_of("  acls:\n    - { principals: [], allow: [Read], topics: [t] }\n") ==
        "gw.yaml:4:21: acl principals must not be empty");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], deny: [Write], topics: [t] }\n") ==
        "gw.yaml:4:47: an acls entry has both 'allow' and 'deny': write two entries");
  CHECK(error_of("  acls:\n    - { principals: [a], topics: [t] }\n") ==
        "gw.yaml:4:7: an acls entry needs 'allow: [operations]' or 'deny: [operations]'");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read] }\n") ==
        "gw.yaml:4:7: an acls entry needs at least one of 'topics', 'groups', 'transactional_ids' or 'cluster: true'");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], topic: [t] }\n") ==
        "gw.yaml:4:41: unknown key 'topic' in an acls entry (expected one of: principals, teams, everyone, allow, "
        "deny, topics, groups, transactional_ids, cluster)");
  // Operations that make no sense for the resource type, as Kafka refuses them.
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read, IdempotentWrite], topics: [t] }\n") ==
        "gw.yaml:4:40: IdempotentWrite does not apply to topics (Kafka allows on topics: Read, Write, Create, "
        "Delete, Alter, Describe, DescribeConfigs, AlterConfigs, All)");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Write], groups: [g] }\n") ==
        "gw.yaml:4:34: Write does not apply to groups (Kafka allows on groups: Read, Delete, Describe, All)");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], cluster: true }\n") ==
        "gw.yaml:4:34: Read does not apply to the cluster (Kafka allows on the cluster: Create, Alter, Describe, "
        "DescribeConfigs, AlterConfigs, IdempotentWrite, All)");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], transactional_ids: [x] }\n") ==
        "gw.yaml:4:34: Read does not apply to transactional ids (Kafka allows on transactional ids: Write, "
        "Describe, All)");
  // Patterns.
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], topics: [{regex: x}] }\n") ==
        "gw.yaml:4:51: unknown key 'regex' in topics entry (expected one of: prefix, glob)");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], topics: [{prefix: ''}] }\n") ==
        "gw.yaml:4:59: topics entry prefix must not be empty");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], topics: [cust*] }\n") ==
        "gw.yaml:4:50: topics entry 'cust*' is a literal topic name; for a pattern write {glob: \"cust*\"}");
  CHECK(error_of("  acls:\n    - { principals: [a], allow: [Read], cluster: yes }\n") ==
        "gw.yaml:4:50: cluster must be true or false, got 'yes'");
  // pass_through_apis.
  CHECK(error_of("  pass_through_apis: [DescribeAcl]\n") ==
        "gw.yaml:3:23: unknown Kafka API 'DescribeAcl' in pass_through_apis (use its name, e.g. DescribeAcls, or "
        "its key, e.g. 29)");
  CHECK(error_of("  pass_through_apis: [99999]\n") ==
        "gw.yaml:3:23: pass_through_apis entry must be between 0 and 32767, got 99999");
  // Views and masks.
  CHECK(error_of("  views:\n    - { principals: [a] }\n") == "gw.yaml:4:7: a views entry needs 'topics'");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], where: '' }\n") ==
        "gw.yaml:4:46: where must not be empty");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ field: e, function: scramble }] }\n") ==
        "gw.yaml:4:68: mask function must be one of redact, partial, hash, null, remove, got 'scramble'");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ field: e, function: }] }\n") ==
        "gw.yaml:4:68: mask function must be a string");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ field: e, function: partial }] }\n") ==
        "gw.yaml:4:46: a partial mask needs 'keep_last: N' or 'keep_domain: true' (to hide everything, use redact)");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ field: e, function: hash, keep_last: 2 }] }\n") ==
        "gw.yaml:4:85: 'keep_last' applies to partial masks only");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ function: redact }] }\n") ==
        "gw.yaml:4:46: a mask on the value needs 'field' or 'fields' (only key and header masks may cover the whole value)");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ in: header, function: redact }] }\n") ==
        "gw.yaml:4:46: a mask with 'in: header' needs 'header: NAME'");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ in: body, field: x, function: redact }] }\n") ==
        "gw.yaml:4:52: mask 'in' must be value, key or header, got 'body'");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ field: x, header: h, function: redact }] }\n") ==
        "gw.yaml:4:66: 'header' belongs to masks with 'in: header'");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], on_invalid_json: keep }\n") ==
        "gw.yaml:4:56: on_invalid_json must be 'drop' or {replace_with: TEXT}, got 'keep'");
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ field: e, function: hash }] }\n") ==
        "gw.yaml:4:46: a hash mask needs a hash_key (give 'hash_key' in a policy document)");
  // Validation and hash_key.
  CHECK(error_of("  validation:\n    - { everyone: true, topics: [t], require_json: false, required_fields: [a] }\n") ==
        "gw.yaml:4:52: require_json: false contradicts required_fields (fields can only be checked in JSON)");
  CHECK(error_of("  validation:\n    - { everyone: true, topics: [t], required: [a] }\n") ==
        "gw.yaml:4:38: unknown key 'required' in a validation entry (expected one of: principals, teams, everyone, "
        "topics, require_json, required_fields)");
  CHECK(error_of("  hash_key: short\n") == "gw.yaml:3:13: hash_key must be at least 16 bytes (it keys HMAC-SHA-256), got 5");
  CHECK(error_of("  hash_key: { env: KGW_TEST_UNSET_VARIABLE }\n") ==
        "gw.yaml:3:20: hash_key: environment variable KGW_TEST_UNSET_VARIABLE is not set");
  CHECK(error_of("  hash_key: { file: /nonexistent/key }\n") ==
        "gw.yaml:3:21: hash_key: cannot open '/nonexistent/key': No such file or directory");
  CHECK(error_of("  - {acls: []}\n") == "gw.yaml:3:5: policies entry must be a scalar");
  CHECK(error_of("  7\n").starts_with("gw.yaml:3:3: policies: no such policy file or directory"));
}

TEST_CASE("predicate and selector errors point at the offending character") {
  const std::string bad = "region = 'US' and x == 1";  // an error in the middle of the line
  const auto parsed = kgw::policies::check_predicate(bad);
  REQUIRE_FALSE(parsed);
  const auto* e = &parsed.error();
  const int off = static_cast<int>(e->offset);
  const std::string msg = "where: " + e->message;
  // Plain scalar starting at column 14 of line 4.
  CHECK(error_of("  views:\n    - principals: [a]\n      topics: [t]\n      where: " + bad + "\n") ==
        "gw.yaml:6:" + std::to_string(14 + off) + ": " + msg);
  // Quoted: one more column for the quote.
  CHECK(error_of("  views:\n    - principals: [a]\n      topics: [t]\n      where: \"" + bad + "\"\n") ==
        "gw.yaml:6:" + std::to_string(15 + off) + ": " + msg);
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], where: \"" + bad + "\" }\n") ==
        "gw.yaml:4:" + std::to_string(47 + off) + ": " + msg);
  // A literal block: the line and column inside it.
  CHECK(error_of("  views:\n    - principals: [a]\n      topics: [t]\n      where: |\n        x == 1 or\n        " +
                 bad + "\n") == "gw.yaml:8:" + std::to_string(9 + off) + ": " + msg);
  // A folded block cannot be mapped back: the scalar's start, with the character offset.
  const auto folded = error_of("  views:\n    - principals: [a]\n      topics: [t]\n      where: >\n        " + bad + "\n");
  CHECK(folded.starts_with("gw.yaml:6:14: where: "));
  CHECK(folded.ends_with("(at character " + std::to_string(off + 1) + ")"));

  const auto selector = kgw::policies::check_selector("items[x");
  REQUIRE_FALSE(selector);
  const auto* s = &selector.error();
  CHECK(error_of("  views:\n    - { principals: [a], topics: [t], mask: [{ field: \"items[x\", function: remove }] }\n") ==
        "gw.yaml:4:" + std::to_string(56 + static_cast<int>(s->offset)) + ": mask field 'items[x': " + s->message);
  CHECK(error_of("  validation:\n    - { everyone: true, topics: [t], required_fields: [ok, 'items[x'] }\n") ==
        "gw.yaml:4:" + std::to_string(61 + static_cast<int>(s->offset)) + ": required field 'items[x': " + s->message);
}

TEST_CASE("an empty policy document and a comments-only file add nothing") {
  temp_dir d;
  d.write("empty.yaml", "# nothing yet\n");
  const auto gw = d.write("gw.yaml", "upstream: { bootstrap: [k:9092] }\npolicies: empty.yaml\n");
  auto c = load_path(gw.string());
  REQUIRE(c);
  CHECK(c->policies.empty());
  CHECK_FALSE(c->policies.section<acl_section>()->enabled());
  policy_loader l(section_readers());
  CHECK(l.add_string("", "x.yaml"));
  CHECK(l.add_string("[1, 2]", "x.yaml").error() ==
        "x.yaml:1:1: a policy document must be a mapping (acls, views, validation, encryption, quotas, pass_through_apis, hash_key)");
}

TEST_CASE("policy documents compare by what they say, so a reload of the same files is unchanged") {
  ::setenv("KGW_TEST_HASH_KEY", "0123456789abcdef0123", 1);
  const std::string body = R"(
  acls: [{ principals: [a], allow: [Read], topics: [t] }]
  pass_through_apis: [29]
  views: [{ everyone: true, topics: [t], mask: [{ field: n, function: hash }] }]
  validation: [{ everyone: true, topics: [t], require_json: true }]
  quotas: { rules: [{ everyone: true, fetch_bytes_per_second: 1MiB }] }
  hash_key: { env: KGW_TEST_HASH_KEY }
)";
  auto a = load(head + body, "gw.yaml"), b = load(head + body, "gw.yaml");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->policies.sections.size() == 5);  // one per policy kind
  CHECK(a->policies.sections[0] != b->policies.sections[0]);  // loaded twice: not shared
  CHECK(a->policies == b->policies);
  // Each section's every member counts.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"allow: [Read]", "allow: [Write]"},
           {"[29]", "[29, 35]"},
           {"function: hash", "function: redact"},
           {"require_json: true", "require_json: false"},
           {"1MiB", "2MiB"}}) {
    std::string changed = body;
    changed.replace(changed.find(from), from.size(), to);
    auto c = load(head + changed, "gw.yaml");
    REQUIRE(c);
    CHECK_FALSE(a->policies == c->policies);
  }
  ::setenv("KGW_TEST_HASH_KEY", "another-key-0123456789", 1);
  auto d = load(head + body, "gw.yaml");
  REQUIRE(d);
  CHECK_FALSE(a->policies == d->policies);  // the hash key is part of the view section
  // A copy shares its sections until one is edited.
  auto copy = a->policies;
  CHECK(copy == a->policies);
  copy.edit<acl_section>().rules.clear();
  CHECK_FALSE(copy == a->policies);
  CHECK(a->policies.section<acl_section>()->rules.size() == 1);
}

TEST_CASE("the encryption section: KMS, key topic, data keys and per-topic rules") {
  ::setenv("KGW_TEST_HSM_PIN", "1234", 1);
  auto c = load(head + R"(
  encryption:
    kms:
      pkcs11: { module: /usr/lib/softhsm/libsofthsm2.so, token: kgw, pin: { env: KGW_TEST_HSM_PIN } }
    key_topic: { name: _gw_keys, create: false }
    data_keys: { max_uses: 1000, max_age: 7d }
    topics:
      - topics: [customers, { prefix: crm- }]
        kek: customers-kek
        fields: [email, address.street, "items[*].card"]
        subject: id
        decrypt: { principals: [fraud], teams: [risk] }
        others: { function: partial, keep_domain: true }
        not_json: encrypt_value
        on_error: null
      - topics: [payments]
        kek: payments-kek
        value: true
)", "gw.yaml");
  REQUIRE(c);
  const auto s = c->policies.section<encryption_section>();
  REQUIRE(s->kms);
  CHECK(s->kms->what == kms_settings::kind::pkcs11);
  CHECK(s->kms->pin == "1234");
  CHECK(s->key_topic == "_gw_keys");
  CHECK_FALSE(s->create_key_topic);
  CHECK(s->max_uses == 1000);
  CHECK(s->max_age == std::chrono::hours(24 * 7));
  REQUIRE(s->rules.size() == 2);
  const auto& r = s->rules[0];
  CHECK(r.kek == "customers-kek");
  CHECK(r.fields == std::vector<std::string>{"email", "address.street", "items[*].card"});
  CHECK(r.subject == "id");
  CHECK(r.decrypt_principals == std::vector<std::string>{"fraud"});
  CHECK(r.decrypt_teams == std::vector<std::string>{"risk"});
  REQUIRE(r.others);
  CHECK(r.others->function == mask_function::partial);
  CHECK(r.not_json == not_json_action::encrypt_value);
  CHECK(r.on_error == open_error_action::null);
  CHECK(s->rule_for("crm-leads") == &r);
  CHECK(s->rule_for("payments")->whole_value);
  CHECK(s->rule_for("orders") == nullptr);
  CHECK(s->summary() == "2 encrypted topic rules");

  temp_dir d;
  d.write("keks", "k1 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n");
  const auto file = d.write("gw.yaml", head + "  encryption: { kms: { local: { key_file: keks } }, topics: [{ topics: [t], kek: k1, fields: [a] }] }\n");
  auto local = load_path(file.string());
  REQUIRE(local);
  const auto ls = local->policies.section<encryption_section>();
  CHECK(ls->kms->what == kms_settings::kind::local);
  CHECK(ls->kms->key_file == (d.dir / "keks").string());  // relative to the document
  CHECK(ls->key_topic == "_kgw_keys");
  CHECK(ls->rules[0].others == std::nullopt);  // tokens by default
  CHECK(ls->rules[0].on_error == open_error_action::drop);
}

TEST_CASE("encryption section errors point at the offending node") {
  const std::string kms = "  encryption:\n    kms: { local: { key_file: k } }\n    topics:\n";
  CHECK(error_of("  encryption:\n    topics: [{ topics: [t], kek: k1, fields: [a] }]\n") ==
        "gw.yaml:4:14: encrypted topics need a KMS (give 'encryption: {kms: ...}' in a policy document)");
  CHECK(error_of(kms + "      - { topics: [t], kek: k1 }\n") ==
        "gw.yaml:6:9: an encryption.topics entry needs 'fields' (which JSON fields to encrypt) or 'value: true' (the whole value)");
  CHECK(error_of(kms + "      - { topics: [t], kek: k1, fields: [a], value: true }\n") ==
        "gw.yaml:6:53: an encryption entry has both 'fields' and 'value': use one");
  CHECK(error_of(kms + "      - { topics: [t], fields: [a] }\n") ==
        "gw.yaml:6:9: an encryption.topics entry needs 'kek' (the id of its key-encryption key in the KMS)");
  CHECK(error_of(kms + "      - { topics: [t], kek: 'a b', fields: [a] }\n") ==
        "gw.yaml:6:29: a KEK id is 1-64 of A-Z a-z 0-9 . _ -");
  CHECK(error_of(kms + "      - { topics: [t], kek: k1, fields: [a], on_error: skip }\n") ==
        "gw.yaml:6:56: on_error must be drop, null, redact or remove, got 'skip'");
  CHECK(error_of(kms + "      - { topics: [t], kek: k1, fields: [a], others: plain }\n") ==
        "gw.yaml:6:54: others must be 'token' or a mask such as {function: redact}");
  CHECK(error_of(kms + "      - { topics: [t], kek: k1, fields: ['a..b'] }\n").starts_with("gw.yaml:6:"));
  CHECK(error_of("  encryption:\n    kms: { pkcs11: { module: m, token: t } }\n") ==
        "gw.yaml:4:20: kms.pkcs11 needs 'pin'");
  CHECK(error_of("  encryption:\n    kms: { local: {}, pkcs11: {} }\n") ==
        "gw.yaml:4:10: encryption.kms needs exactly one of 'local' or 'pkcs11'");
  CHECK(error_of("  encryption:\n    data_keys: { max_uses: 0 }\n") ==
        "gw.yaml:4:28: max_uses must be between 1 and 4294967296, got 0");
  CHECK(error_of("  encryption:\n    key_topic: 'no spaces'\n") ==
        "gw.yaml:4:16: key_topic is not a valid topic name (letters, digits, '.', '_', '-')");
  CHECK(error_of("  encryption:\n    kmss: {}\n") ==
        "gw.yaml:4:5: unknown key 'kmss' in encryption (expected one of: kms, key_topic, data_keys, topics)");
}

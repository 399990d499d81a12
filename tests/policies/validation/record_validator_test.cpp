#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "policies/validation/record_validator.h"

using namespace kgw::policies;
namespace config = kgw::config;

namespace {

std::shared_ptr<const record_validator> compile(const std::vector<kgw::policies::validation_rule>& rules) {
  std::vector<const kgw::policies::validation_rule*> ptrs;
  for (const auto& r : rules) ptrs.push_back(&r);
  auto v = record_validator::compile(ptrs);
  if (!v) INFO(v.error());
  REQUIRE(v.has_value());
  return *v;
}

// Why the value is refused; nothing when it passes.
std::optional<std::string> check(const record_validator& v, std::optional<std::string> value) {
  record_in in;
  if (value) in.value = *value;
  const auto ok = v.check(in);
  if (ok) return std::nullopt;
  return ok.error();
}

kgw::policies::validation_rule rule(bool require_json, std::vector<std::string> fields) {
  kgw::policies::validation_rule r;
  r.require_json = require_json;
  r.required_fields = std::move(fields);
  r.at = {"validation.yaml", 3, 5};
  return r;
}

}  // namespace

TEST_CASE("validation: require_json") {
  auto v = compile({rule(true, {})});
  CHECK_FALSE(check(*v, R"({"a": 1})"));
  CHECK_FALSE(check(*v, "42"));
  CHECK(check(*v, "{nope") == "value is not valid JSON");
  CHECK(check(*v, "") == "value is not valid JSON");
  auto tomb = check(*v, std::nullopt);
  REQUIRE(tomb);
  CHECK(tomb->find("null") != std::string::npos);
  CHECK(v->describe() == std::vector<std::string>{"produce: the value must be JSON"});
}

TEST_CASE("validation: required fields are present and not null") {
  auto v = compile({rule(false, {"id", "email", "address.city"})});
  CHECK_FALSE(check(*v, R"({"id": 1, "email": "a@b", "address": {"city": "X"}})"));
  CHECK(check(*v, R"({"id": 1, "address": {"city": "X"}})") == "missing required field 'email'");
  CHECK(check(*v, R"({"id": 1, "email": null, "address": {"city": "X"}})") == "missing required field 'email'");
  CHECK(check(*v, R"({"id": 1, "email": "", "address": {}})") == "missing required field 'address.city'");
  CHECK(check(*v, R"({"id": 1, "email": "", "address": "flat"})") == "missing required field 'address.city'");
  CHECK(check(*v, R"([1, 2])") == "missing required field 'id'");
  CHECK(check(*v, "nope") == "value is not valid JSON");  // required fields imply JSON
  CHECK_FALSE(check(*v, R"({"id": 0, "email": false, "address": {"city": ""}})"));  // falsy is present
}

TEST_CASE("validation: wildcards need every element") {
  auto v = compile({rule(true, {"items[*].sku", "tags[0]"})});
  CHECK_FALSE(check(*v, R"({"items": [{"sku": 1}, {"sku": 2}], "tags": ["x"]})"));
  CHECK(check(*v, R"({"items": [{"sku": 1}, {"qty": 2}], "tags": ["x"]})") == "missing required field 'items[*].sku'");
  CHECK_FALSE(check(*v, R"({"items": [], "tags": ["x"]})"));  // an empty array passes
  CHECK(check(*v, R"({"tags": ["x"]})") == "missing required field 'items[*].sku'");
  CHECK(check(*v, R"({"items": [], "tags": []})") == "missing required field 'tags[0]'");
}

TEST_CASE("validation: rules combine") {
  auto v = compile({rule(true, {"id"}), rule(false, {"email", "id"})});
  CHECK(check(*v, R"({"id": 1})") == "missing required field 'email'");
  CHECK(v->describe() == std::vector<std::string>{"produce: the value must be JSON",
                                                  "produce: field id is required (present, not null)",
                                                  "produce: field email is required (present, not null)"});
  auto none = compile({});
  CHECK_FALSE(check(*none, "anything"));
  CHECK_FALSE(check(*none, std::nullopt));
  CHECK(none->describe().empty());
}

TEST_CASE("validation: a bad selector is a compile error with the rule's location") {
  kgw::policies::validation_rule r = rule(true, {"items[x]"});
  std::vector<const kgw::policies::validation_rule*> rules = {&r};
  auto v = record_validator::compile(rules);
  REQUIRE_FALSE(v);
  CHECK(v.error().starts_with("validation.yaml:3:5: required field 'items[x]': "));
}

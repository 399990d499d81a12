#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "policies/json/json_doc.h"
#include "policies/row_filter/predicate.h"

using namespace kgw::policies;
using kgw::config::principal_config;
using row_filter::predicate;

namespace {

principal_config sales() {
  principal_config p;
  p.name = "sales";
  p.teams = {"sales", "emea"};
  p.attributes = {{"territory", "US-WEST"}, {"tier", "2"}};
  return p;
}

const char* const customer =
    R"({"id": 17, "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+1-555-0100",)"
    R"( "region": "US-WEST", "consent": {"marketing": true}, "ltv": 1200.5,)"
    R"( "items": [{"sku": "a1", "qty": 2}, {"sku": "b2", "qty": 5}], "tags": ["vip", "new"],)"
    R"( "nothing": null, "esc": "caf\u00e9", "big": 9007199254740993, "flag": false})";

// A record with an optional key, headers and timestamp, and the predicate input for it.
struct record_fixture {
  std::optional<std::string> key, value;
  std::vector<record_header> headers;
  std::int64_t timestamp = 1700000000000;
  json::json_doc value_doc, key_doc;

  bool eval(std::string_view text, const principal_config& who = sales()) {
    auto p = predicate::compile(text, who);
    INFO(text);
    if (!p) INFO(p.error().message);
    REQUIRE(p.has_value());
    record_in in;
    if (key) in.key = *key;
    if (value) in.value = *value;
    in.headers = headers;
    in.timestamp = timestamp;
    row_filter::predicate_input pin;
    pin.record = &in;
    if (value && value_doc.parse(*value)) pin.value = &value_doc;
    if (key && key_doc.parse(*key)) pin.key = &key_doc;
    return p->matches(pin);
  }
};

}  // namespace

TEST_CASE("predicate: every comparison operator") {
  record_fixture r;
  r.value = customer;
  CHECK(r.eval("id == 17"));
  CHECK_FALSE(r.eval("id == 18"));
  CHECK(r.eval("id != 18"));
  CHECK_FALSE(r.eval("id != 17"));
  CHECK(r.eval("id < 18"));
  CHECK_FALSE(r.eval("id < 17"));
  CHECK(r.eval("id <= 17"));
  CHECK(r.eval("id > 16"));
  CHECK_FALSE(r.eval("id > 17"));
  CHECK(r.eval("id >= 17"));
  CHECK_FALSE(r.eval("id >= 17.5"));
  CHECK(r.eval("ltv > 1200"));
  CHECK(r.eval("ltv == 1200.5"));
  CHECK(r.eval("ltv < 12e2 or ltv > 1.2e3"));
  CHECK(r.eval("id == 17.0"));   // int vs decimal by value
  CHECK(r.eval("id >= -3"));
  CHECK(r.eval("big > 9007199254740992"));  // beyond double precision, still exact
  CHECK(r.eval("big != 9007199254740992"));
  CHECK(r.eval(R"(name == "Ada Lovelace")"));
  CHECK(r.eval(R"(name != "Ada")"));
  CHECK(r.eval(R"(name > "Ada")"));     // by bytes
  CHECK(r.eval(R"(name < "Adb")"));
  CHECK(r.eval(R"(region >= "US-WEST")"));
  CHECK(r.eval("consent.marketing == true"));
  CHECK_FALSE(r.eval("consent.marketing == false"));
  CHECK(r.eval("flag == false"));
  CHECK(r.eval("nothing == null"));
  CHECK_FALSE(r.eval("nothing != null"));
  CHECK(r.eval(R"(esc == "café")"));    // unescaped content
  CHECK(r.eval(R"(esc == "caf\u00e9")"));
  CHECK(r.eval(R"(esc > "cafe")"));
}

TEST_CASE("predicate: type mixing") {
  record_fixture r;
  r.value = customer;
  CHECK_FALSE(r.eval(R"(id == "17")"));
  CHECK(r.eval(R"(id != "17")"));
  CHECK_FALSE(r.eval(R"(id < "18")"));
  CHECK_FALSE(r.eval(R"(id > "1")"));
  CHECK_FALSE(r.eval("consent.marketing == 1"));
  CHECK(r.eval("consent.marketing != 1"));
  CHECK_FALSE(r.eval("consent.marketing < true"));  // booleans do not order
  CHECK_FALSE(r.eval("nothing < 1"));
  CHECK_FALSE(r.eval("nothing == false"));
  CHECK_FALSE(r.eval("consent == 1"));  // an object equals nothing
  CHECK(r.eval("consent != 1"));
}

TEST_CASE("predicate: missing fields and null values") {
  record_fixture r;
  r.value = customer;
  CHECK_FALSE(r.eval("nope == 1"));
  CHECK_FALSE(r.eval("nope != 1"));
  CHECK_FALSE(r.eval("nope < 1"));
  CHECK_FALSE(r.eval("nope in [1, 2]"));
  CHECK_FALSE(r.eval("consent.nope == null"));
  CHECK(r.eval("not (nope == 1)"));
  CHECK_FALSE(r.eval("exists(nope)"));
  CHECK(r.eval("exists(nothing)"));  // present with value null
  CHECK(r.eval("exists(consent.marketing)"));
  CHECK(r.eval("not exists(consent.sms)"));

  record_fixture tombstone;  // null value
  CHECK_FALSE(tombstone.eval("id == 17"));
  CHECK_FALSE(tombstone.eval("id != 17"));
  CHECK_FALSE(tombstone.eval("exists(id)"));
  CHECK_FALSE(tombstone.eval("value == null"));
  CHECK(tombstone.eval("not (region == 'EU')"));

  record_fixture invalid;
  invalid.value = "not json";
  CHECK_FALSE(invalid.eval("id != 17"));
}

TEST_CASE("predicate: and, or, not, parentheses and precedence") {
  record_fixture r;
  r.value = customer;
  CHECK(r.eval("id == 17 and region == 'US-WEST'"));
  CHECK_FALSE(r.eval("id == 17 and region == 'EU'"));
  CHECK(r.eval("id == 1 or region == 'US-WEST'"));
  CHECK_FALSE(r.eval("id == 1 or region == 'EU'"));
  CHECK(r.eval("not id == 1"));
  CHECK_FALSE(r.eval("not id == 17"));
  CHECK(r.eval("not not id == 17"));
  // and binds tighter than or: true or (false and false)
  CHECK(r.eval("id == 17 or id == 1 and id == 2"));
  // parentheses change it: (true or false) and false
  CHECK_FALSE(r.eval("(id == 17 or id == 1) and id == 2"));
  // not binds tighter than and: (not false) and true
  CHECK(r.eval("not id == 1 and id == 17"));
  CHECK_FALSE(r.eval("not (id == 1 or id == 17)"));
  CHECK(r.eval("((id == 17))"));
}

TEST_CASE("predicate: in lists, arrays and wildcards") {
  record_fixture r;
  r.value = customer;
  CHECK(r.eval("region in ['EU', 'US-WEST']"));
  CHECK_FALSE(r.eval("region in ['EU', 'APAC']"));
  CHECK_FALSE(r.eval("region in []"));
  CHECK(r.eval("id in [1, 17.0, 'x']"));
  CHECK_FALSE(r.eval("id in ['17']"));
  CHECK(r.eval("'vip' in tags"));   // an array field's elements
  CHECK_FALSE(r.eval("'old' in tags"));
  CHECK(r.eval("'US-WEST' in region"));  // a single value is a list of one
  CHECK(r.eval("items[*].sku == 'b2'"));
  CHECK_FALSE(r.eval("items[*].sku == 'c3'"));
  CHECK(r.eval("items[*].qty > 4"));
  CHECK_FALSE(r.eval("items[*].qty > 5"));
  CHECK(r.eval("items[*].qty != 2"));  // any element satisfies it
  CHECK(r.eval("items[0].sku == 'a1'"));
  CHECK_FALSE(r.eval("items[0].sku == 'b2'"));
  CHECK(r.eval("items[*].sku in ['x', 'b2']"));
  CHECK(r.eval("'b2' in items[*].sku"));
  CHECK(r.eval("exists(items[*].qty)"));
  CHECK_FALSE(r.eval("exists(items[*].color)"));
}

TEST_CASE("predicate: field compared with field") {
  record_fixture r;
  r.value = R"({"a": 1, "b": 1.0, "c": "x", "lo": 3, "hi": 10})";
  CHECK(r.eval("a == b"));
  CHECK(r.eval("lo < hi"));
  CHECK_FALSE(r.eval("a == c"));
  CHECK(r.eval("value.a == value.b"));
}

TEST_CASE("predicate: duplicate members, the last one counts") {
  record_fixture r;
  r.value = R"({"consent": {"marketing": true, "marketing": false}})";
  CHECK_FALSE(r.eval("consent.marketing == true"));
  CHECK(r.eval("consent.marketing == false"));
}

TEST_CASE("predicate: principal references fold to constants") {
  record_fixture r;
  r.value = customer;
  principal_config who = sales();

  auto p = predicate::compile("region == principal.territory", who);
  REQUIRE(p);
  CHECK(p->str() == R"(region == "US-WEST")");
  CHECK(r.eval("region == principal.territory"));
  CHECK(r.eval("region == principal.attributes.territory"));
  CHECK(r.eval("principal.tier == '2'"));

  principal_config other = who;
  other.attributes["territory"] = "EU";
  CHECK_FALSE(r.eval("region == principal.territory", other));

  // A missing attribute compiles to "missing": the comparison can never hold.
  principal_config bare;
  bare.name = "bare";
  auto missing = predicate::compile("region == principal.territory", bare);
  REQUIRE(missing);
  CHECK(missing->never());
  CHECK_FALSE(r.eval("region == principal.territory", bare));
  CHECK_FALSE(r.eval("region != principal.territory", bare));
  CHECK(r.eval("not (region == principal.territory)", bare));
  auto ex = predicate::compile("exists(principal.territory)", bare);
  REQUIRE(ex);
  CHECK(ex->never());
  ex = predicate::compile("exists(principal.territory)", who);
  REQUIRE(ex);
  CHECK(ex->always());

  // Teams: a constant list.
  auto fraud = predicate::compile("\"fraud\" in principal.teams", who);
  REQUIRE(fraud);
  CHECK(fraud->never());
  principal_config f;
  f.name = "fraud";
  f.teams = {"fraud"};
  fraud = predicate::compile("\"fraud\" in principal.teams", f);
  REQUIRE(fraud);
  CHECK(fraud->always());
  auto team = predicate::compile("team in principal.teams", who);
  REQUIRE(team);
  CHECK(team->str() == R"(team in ["sales", "emea"])");
  record_fixture t;
  t.value = R"({"team": "emea"})";
  CHECK(t.eval("team in principal.teams"));
  t.value = R"({"team": "apac"})";
  CHECK_FALSE(t.eval("team in principal.teams"));

  principal_config no_teams;
  no_teams.name = "solo";
  auto empty = predicate::compile("team in principal.teams", no_teams);
  REQUIRE(empty);
  CHECK(empty->never());

  auto owner = predicate::compile("owner == principal.name", who);
  REQUIRE(owner);
  CHECK(owner->str() == R"(owner == "sales")");

  // Folding simplifies around constants.
  auto folded = predicate::compile("'sales' in principal.teams and region == principal.territory", who);
  REQUIRE(folded);
  CHECK(folded->str() == R"(region == "US-WEST")");
  folded = predicate::compile("'fraud' in principal.teams or region == principal.territory", f);
  REQUIRE(folded);
  CHECK(folded->always());
}

TEST_CASE("predicate: key, headers and timestamp") {
  record_fixture r;
  r.value = customer;
  r.key = R"({"tenant": "acme", "id": 17})";
  std::string trace = "abc-123";
  r.headers = {{"trace", std::string_view(trace)}, {"tenant", std::nullopt}, {"x.y", std::string_view("1")}};
  CHECK(r.eval(R"(key == '{"tenant": "acme", "id": 17}')"));
  CHECK(r.eval("key.tenant == 'acme'"));
  CHECK(r.eval("key.id == id"));
  CHECK(r.eval("headers.trace == 'abc-123'"));
  CHECK(r.eval("headers[\"x.y\"] == '1'"));
  CHECK(r.eval("exists(headers.trace)"));
  CHECK_FALSE(r.eval("exists(headers.nope)"));
  CHECK_FALSE(r.eval("headers.nope != 'x'"));
  CHECK(r.eval("headers.tenant == null"));  // a null header value
  CHECK(r.eval("exists(headers.tenant)"));
  CHECK(r.eval("timestamp > 1600000000000"));
  CHECK(r.eval("timestamp == 1700000000000"));
  CHECK_FALSE(r.eval("timestamp < 1700000000000"));
  CHECK(r.eval("exists(key)"));

  // The last header of a name counts.
  std::string v2 = "second";
  r.headers.push_back({"trace", std::string_view(v2)});
  CHECK(r.eval("headers.trace == 'second'"));

  record_fixture plain_key;
  plain_key.key = "user-42";
  plain_key.value = customer;
  CHECK(plain_key.eval("key == 'user-42'"));
  CHECK(plain_key.eval("key > 'user-41'"));
  CHECK_FALSE(plain_key.eval("key.id == 1"));  // the key is not JSON: its fields are missing

  record_fixture null_key;
  null_key.value = customer;
  CHECK_FALSE(null_key.eval("key == 'x'"));
  CHECK_FALSE(null_key.eval("key != 'x'"));
  CHECK_FALSE(null_key.eval("exists(key)"));
}

TEST_CASE("predicate: str() and what it reads") {
  principal_config who = sales();
  auto p = predicate::compile("consent.marketing == true", who);
  REQUIRE(p);
  CHECK(p->str() == "consent.marketing == true");
  CHECK(p->reads_value());
  CHECK_FALSE(p->reads_key_json());

  p = predicate::compile("(a == 1 or b == 'x') and not c >= 2.50 and exists(d)", who);
  REQUIRE(p);
  CHECK(p->str() == R"((a == 1 or b == "x") and not (c >= 2.50) and exists(d))");

  p = predicate::compile("headers.trace == 'x' or key.id == 1", who);
  REQUIRE(p);
  CHECK_FALSE(p->reads_value());
  CHECK(p->reads_key_json());

  p = predicate::compile("timestamp > 0 and key == 'k'", who);
  REQUIRE(p);
  CHECK_FALSE(p->reads_value());
  CHECK_FALSE(p->reads_key_json());

  predicate all;
  CHECK(all.always());
  CHECK(all.matches({}));

  auto bad = predicate::compile("a = 1", who);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().offset == 2);
}

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "policies/json/json_doc.h"
#include "policies/view/topic_view.h"

using namespace kgw::policies;
namespace config = kgw::config;
using kgw::policies::mask_function;
using kgw::policies::mask_rule;
using kgw::policies::mask_target;
using kgw::policies::view_rule;

namespace {

const std::string hash_key = "scenario-key";

const std::string ada =
    R"({"id": 17, "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+1-555-0100", "region": "US-WEST",)"
    R"( "consent": {"marketing": true}, "ltv": 1200.5})";
const std::string grace =
    R"({"id": 18, "name": "Grace Hopper", "email": "grace@navy.mil", "phone": "+1-555-0199", "region": "US-EAST",)"
    R"( "consent": {"marketing": false}, "ltv": 300})";

std::string hmac_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), hash_key.data(), static_cast<int>(hash_key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xF];
  }
  return out;
}

mask_rule mask(std::vector<std::string> fields, mask_function f) {
  mask_rule m;
  m.fields = std::move(fields);
  m.function = f;
  m.at = {"views.yaml", 7, 11};
  return m;
}

config::principal_config principal(std::string name, std::vector<std::string> teams = {},
                                   std::map<std::string, std::string> attributes = {}) {
  config::principal_config p;
  p.name = std::move(name);
  p.teams = std::move(teams);
  p.attributes = std::move(attributes);
  return p;
}

view_rule marketing_rule() {
  view_rule r;
  r.who.what = config::subject::kind::principals;
  r.who.names = {"marketing"};
  r.where = "consent.marketing == true";
  r.where_at = {"views.yaml", 4, 14};
  mask_rule email = mask({"email"}, mask_function::partial);
  email.keep_domain = true;
  r.masks = {email, mask({"phone"}, mask_function::remove)};
  r.at = {"views.yaml", 2, 5};
  return r;
}

view_rule analytics_rule() {
  view_rule r;
  r.masks = {mask({"name", "email", "phone"}, mask_function::hash)};
  r.at = {"views.yaml", 10, 5};
  return r;
}

view_rule sales_rule() {
  view_rule r;
  r.where = "region == principal.territory";
  r.at = {"views.yaml", 20, 5};
  return r;
}

std::shared_ptr<const topic_view> compile(const std::vector<view_rule>& rules, const config::principal_config& who) {
  std::vector<const view_rule*> ptrs;
  for (const auto& r : rules) ptrs.push_back(&r);
  auto v = topic_view::compile(ptrs, who, hash_key);
  if (!v) INFO(v.error());
  REQUIRE(v.has_value());
  return *v;
}

struct applied {
  record_result result;
  record_arena arena;
};

void run(const topic_view& view, const record_in& in, applied& a) { view.apply(in, a.result, a.arena); }

record_in value_record(const std::string& value) {
  record_in in;
  in.value = value;
  in.timestamp = 1700000000000;
  return in;
}

bool is_json(std::string_view text) {
  json::json_doc doc;
  return doc.parse(text).has_value();
}

}  // namespace

TEST_CASE("view: marketing filters on consent, keeps the e-mail domain, removes the phone") {
  auto view = compile({marketing_rule()}, principal("marketing"));
  CHECK_FALSE(view->passthrough());
  CHECK(view->filters());
  CHECK(view->masks());

  applied a;
  run(*view, value_record(ada), a);
  CHECK(a.result.what == verdict::keep);
  REQUIRE(a.result.value_changed);
  CHECK_FALSE(a.result.key_changed);
  CHECK_FALSE(a.result.headers_changed);
  CHECK_FALSE(a.result.replaced_invalid);
  CHECK(*a.result.value ==
        R"({"id": 17, "name": "Ada Lovelace", "email": "***@example.com", "region": "US-WEST",)"
        R"( "consent": {"marketing": true}, "ltv": 1200.5})");

  applied b;
  run(*view, value_record(grace), b);
  CHECK(b.result.what == verdict::drop);

  applied c;  // no consent field: the comparison is false
  run(*view, value_record(R"({"id": 1, "email": "x@y.z"})"), c);
  CHECK(c.result.what == verdict::drop);

  CHECK(view->describe() == std::vector<std::string>{
                                "rows: only records where consent.marketing == true",
                                "value field email: partially masked, keeps the domain (ada@example.com -> ***@example.com)",
                                "value field phone: removed",
                                "records whose value is not JSON: dropped and counted",
                            });
}

TEST_CASE("view: analytics sees stable tokens instead of name, email and phone") {
  auto view = compile({analytics_rule()}, principal("analytics"));
  CHECK_FALSE(view->filters());
  CHECK(view->masks());
  applied a;
  run(*view, value_record(ada), a);
  REQUIRE(a.result.what == verdict::keep);
  REQUIRE(a.result.value_changed);
  std::string expected = R"({"id": 17, "name": ")" + hmac_hex("Ada Lovelace") + R"(", "email": ")" +
                         hmac_hex("ada@example.com") + R"(", "phone": ")" + hmac_hex("+1-555-0100") +
                         R"(", "region": "US-WEST", "consent": {"marketing": true}, "ltv": 1200.5})";
  CHECK(*a.result.value == expected);

  // Same input, same token: joins still work across records.
  applied again;
  run(*view, value_record(R"({"email": "ada@example.com"})"), again);
  CHECK(*again.result.value == R"({"email": ")" + hmac_hex("ada@example.com") + R"("})");

  auto lines = view->describe();
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "rows: all records");
  CHECK(lines[1] == "value field name: replaced by a stable HMAC-SHA-256 token");
  CHECK(lines[2] == "value field email: replaced by a stable HMAC-SHA-256 token");
  CHECK(lines[3] == "value field phone: replaced by a stable HMAC-SHA-256 token");
  CHECK(lines[4] == "records whose value is not JSON: dropped and counted");
}

TEST_CASE("view: sales sees its territory only") {
  auto sales = principal("sales", {"sales"}, {{"territory", "US-WEST"}});
  auto view = compile({sales_rule()}, sales);
  CHECK(view->filters());
  CHECK_FALSE(view->masks());
  applied a, b;
  run(*view, value_record(ada), a);
  CHECK(a.result.what == verdict::keep);
  CHECK_FALSE(a.result.value_changed);  // kept unchanged: the gateway keeps the original bytes
  run(*view, value_record(grace), b);
  CHECK(b.result.what == verdict::drop);
  CHECK(view->describe() == std::vector<std::string>{
                                R"(rows: only records where region == "US-WEST" (from region == principal.territory))",
                                "records whose value is not JSON: dropped and counted",
                            });

  // Another territory, another view of the same rule.
  auto east = compile({sales_rule()}, principal("sales-east", {}, {{"territory", "US-EAST"}}));
  applied c, d;
  run(*east, value_record(ada), c);
  run(*east, value_record(grace), d);
  CHECK(c.result.what == verdict::drop);
  CHECK(d.result.what == verdict::keep);

  // No territory attribute: nothing matches.
  auto none = compile({sales_rule()}, principal("intern"));
  applied e;
  run(*none, value_record(ada), e);
  CHECK(e.result.what == verdict::drop);
  CHECK(none->describe()[0] == "rows: none (region == principal.territory is never true for this principal)");
}

TEST_CASE("view: fraud sees everything untouched") {
  view_rule fraud;
  fraud.who.what = config::subject::kind::teams;
  fraud.who.names = {"fraud"};
  auto view = compile({fraud}, principal("fraud", {"fraud"}));
  CHECK(view->passthrough());
  CHECK_FALSE(view->filters());
  CHECK_FALSE(view->masks());
  applied a;
  std::string garbage = "not json at all";
  run(*view, value_record(garbage), a);
  CHECK(a.result.what == verdict::keep);
  CHECK_FALSE(a.result.value_changed);
  CHECK(view->describe() == std::vector<std::string>{"rows: all records", "fields: all, unchanged (no row filter, no masks)"});

  // A where that holds for this principal folds away too.
  view_rule by_team;
  by_team.where = "\"fraud\" in principal.teams";
  auto folded = compile({by_team}, principal("fraud", {"fraud"}));
  CHECK(folded->passthrough());
}

TEST_CASE("view: rules combine, every where and every mask") {
  auto sales = principal("sales", {"sales"}, {{"territory", "US-WEST"}});
  auto view = compile({marketing_rule(), sales_rule(), analytics_rule()}, sales);
  applied a, b;
  run(*view, value_record(ada), a);
  REQUIRE(a.result.what == verdict::keep);
  // email: partial (marketing) and hash (analytics) collide; hash reveals less and wins.
  // phone: remove (marketing) beats hash.
  CHECK(*a.result.value == R"({"id": 17, "name": ")" + hmac_hex("Ada Lovelace") + R"(", "email": ")" +
                               hmac_hex("ada@example.com") +
                               R"(", "region": "US-WEST", "consent": {"marketing": true}, "ltv": 1200.5})");
  std::string us_west_no_consent = R"({"region": "US-WEST", "consent": {"marketing": false}})";
  run(*view, value_record(us_west_no_consent), b);
  CHECK(b.result.what == verdict::drop);
  auto lines = view->describe();
  CHECK(lines[0] ==
        R"(rows: only records where consent.marketing == true and region == "US-WEST" (from (consent.marketing == true) and (region == principal.territory)))");
}

TEST_CASE("view: invalid JSON is dropped or replaced") {
  std::string bad = R"({"id": 17, "email": "ada@example.com")";  // truncated

  SECTION("drop") {
    auto view = compile({analytics_rule()}, principal("analytics"));
    applied a;
    run(*view, value_record(bad), a);
    CHECK(a.result.what == verdict::drop_invalid);
  }
  SECTION("replace") {
    view_rule r = analytics_rule();
    r.on_invalid_json = kgw::policies::invalid_json_action::replace;
    r.invalid_json_replacement = R"({"invalid": true})";
    auto view = compile({r}, principal("analytics"));
    applied a;
    run(*view, value_record(bad), a);
    CHECK(a.result.what == verdict::keep);
    CHECK(a.result.replaced_invalid);
    REQUIRE(a.result.value_changed);
    CHECK(*a.result.value == R"({"invalid": true})");
    CHECK(view->describe().back() == R"(records whose value is not JSON: delivered as {"invalid": true} and counted)");
  }
  SECTION("replace, but the filter reads the value: dropped") {
    view_rule r = marketing_rule();
    r.on_invalid_json = kgw::policies::invalid_json_action::replace;
    r.invalid_json_replacement = "{}";
    auto view = compile({r}, principal("marketing"));
    applied a;
    run(*view, value_record(bad), a);
    CHECK(a.result.what == verdict::drop_invalid);
    CHECK(view->describe().back() ==
          "records whose value is not JSON: dropped and counted (the row filter needs its fields)");
  }
  SECTION("drop wins when rules disagree") {
    view_rule r = analytics_rule();
    r.on_invalid_json = kgw::policies::invalid_json_action::replace;
    r.invalid_json_replacement = "{}";
    auto view = compile({r, marketing_rule()}, principal("marketing"));
    applied a;
    run(*view, value_record(bad), a);
    CHECK(a.result.what == verdict::drop_invalid);
  }
  SECTION("views that never read the value do not care") {
    view_rule r;
    r.where = "headers.tenant == 'acme'";
    mask_rule h;
    h.target = mask_target::header;
    h.header = "trace";
    h.function = mask_function::redact;
    r.masks = {h};
    auto view = compile({r}, principal("p"));
    std::string tenant = "acme";
    std::vector<record_header> headers = {{"tenant", std::string_view(tenant)}};
    record_in in = value_record(bad);
    in.headers = headers;
    applied a;
    run(*view, in, a);
    CHECK(a.result.what == verdict::keep);
    CHECK_FALSE(a.result.value_changed);
    for (const auto& line : view->describe()) CHECK(line.find("not JSON") == std::string::npos);
  }
}

TEST_CASE("view: tombstones") {
  record_in tomb;
  tomb.key = "customer-17";
  SECTION("masks do nothing") {
    auto view = compile({analytics_rule()}, principal("analytics"));
    applied a;
    run(*view, tomb, a);
    CHECK(a.result.what == verdict::keep);
    CHECK_FALSE(a.result.value_changed);
    CHECK_FALSE(a.result.key_changed);
  }
  SECTION("filters see missing fields") {
    auto view = compile({marketing_rule()}, principal("marketing"));
    applied a;
    run(*view, tomb, a);
    CHECK(a.result.what == verdict::drop);
    view_rule negated;
    negated.where = "not (region == 'EU')";
    auto v2 = compile({negated}, principal("p"));
    applied b;
    run(*v2, tomb, b);
    CHECK(b.result.what == verdict::keep);
  }
}

TEST_CASE("view: masks over nested fields and arrays") {
  view_rule r;
  mask_rule card = mask({"items[*].card"}, mask_function::partial);
  card.keep_last = 4;
  r.masks = {card, mask({"address.street"}, mask_function::redact), mask({"meta.note"}, mask_function::null),
             mask({"items[*].cvv"}, mask_function::remove)};
  auto view = compile({r}, principal("p"));
  std::string value =
      R"({"items": [{"card": "4111111111111111", "cvv": 123}, {"card": "5500000000000004", "cvv": 456}],)"
      R"( "address": {"street": "1 Main St", "city": "X"}, "meta": {"note": "n"}})";
  applied a;
  run(*view, value_record(value), a);
  REQUIRE(a.result.value_changed);
  CHECK(*a.result.value ==
        R"({"items": [{"card": "***1111"}, {"card": "***0004"}],)"
        R"( "address": {"street": "***", "city": "X"}, "meta": {"note": null}})");
  CHECK(is_json(*a.result.value));

  // Nothing selected: no change at all.
  applied b;
  run(*view, value_record(R"({"other": 1})"), b);
  CHECK(b.result.what == verdict::keep);
  CHECK_FALSE(b.result.value_changed);

  // A JSON value that is not an object: nothing to select.
  applied c;
  run(*view, value_record(R"("just a string")"), c);
  CHECK_FALSE(c.result.value_changed);
}

TEST_CASE("view: key masks") {
  SECTION("key fields: the key is parsed as JSON") {
    view_rule r;
    mask_rule k = mask({"email"}, mask_function::hash);
    k.target = mask_target::key;
    r.masks = {k};
    auto view = compile({r}, principal("p"));
    record_in in = value_record(ada);
    std::string key = R"({"email": "ada@example.com", "id": 17})";
    in.key = key;
    applied a;
    run(*view, in, a);
    CHECK(a.result.what == verdict::keep);
    REQUIRE(a.result.key_changed);
    CHECK_FALSE(a.result.value_changed);
    CHECK(*a.result.key == R"({"email": ")" + hmac_hex("ada@example.com") + R"(", "id": 17})");
    CHECK(view->describe()[1] == "key field email: replaced by a stable HMAC-SHA-256 token");
    CHECK(view->describe().back() == "records whose key is not JSON: dropped and counted");

    std::string plain = "user-17";
    in.key = plain;
    applied b;
    run(*view, in, b);
    CHECK(b.result.what == verdict::drop_invalid);

    in.key.reset();  // null key: nothing to mask
    applied c;
    run(*view, in, c);
    CHECK(c.result.what == verdict::keep);
    CHECK_FALSE(c.result.key_changed);
  }
  SECTION("the whole key as bytes") {
    view_rule r;
    mask_rule k;
    k.target = mask_target::key;
    k.function = mask_function::hash;
    r.masks = {k};
    auto view = compile({r}, principal("p"));
    record_in in = value_record(ada);
    std::string key = "user-17";
    in.key = key;
    applied a;
    run(*view, in, a);
    REQUIRE(a.result.key_changed);
    CHECK(*a.result.key == hmac_hex("user-17"));
    CHECK(view->describe()[1] == "key: replaced by a stable HMAC-SHA-256 token");
  }
  SECTION("remove and null make a null key") {
    for (auto f : {mask_function::remove, mask_function::null}) {
      view_rule r;
      mask_rule k;
      k.target = mask_target::key;
      k.function = f;
      r.masks = {k};
      auto view = compile({r}, principal("p"));
      record_in in = value_record(ada);
      std::string key = "user-17";
      in.key = key;
      applied a;
      run(*view, in, a);
      CHECK(a.result.key_changed);
      CHECK_FALSE(a.result.key.has_value());
    }
  }
}

TEST_CASE("view: header masks") {
  auto header_mask = [](std::string name, mask_function f) {
    mask_rule m;
    m.target = mask_target::header;
    m.header = std::move(name);
    m.function = f;
    return m;
  };
  view_rule r;
  r.masks = {header_mask("trace", mask_function::redact), header_mask("user", mask_function::remove),
             header_mask("session", mask_function::null), header_mask("auth", mask_function::hash)};
  auto view = compile({r}, principal("p"));
  std::string trace = "abc-123", user = "ada", session = "s1", auth = "token", other = "keep me";
  std::vector<record_header> headers = {{"trace", std::string_view(trace)},
                                        {"user", std::string_view(user)},
                                        {"other", std::string_view(other)},
                                        {"session", std::string_view(session)},
                                        {"auth", std::string_view(auth)},
                                        {"trace", std::nullopt}};
  record_in in = value_record(ada);
  in.headers = headers;
  applied a;
  run(*view, in, a);
  CHECK(a.result.what == verdict::keep);
  REQUIRE(a.result.headers_changed);
  CHECK_FALSE(a.result.value_changed);
  const auto& h = a.result.headers;
  REQUIRE(h.size() == 5);
  CHECK(h[0].key == "trace");
  CHECK(*h[0].value == "***");
  CHECK(h[1].key == "other");
  CHECK(*h[1].value == "keep me");
  CHECK(h[2].key == "session");
  CHECK_FALSE(h[2].value.has_value());
  CHECK(h[3].key == "auth");
  CHECK(*h[3].value == hmac_hex("token"));
  CHECK(h[4].key == "trace");
  CHECK_FALSE(h[4].value.has_value());  // a null value stays null
  CHECK(view->describe()[1] == R"(header trace: replaced by "***")");
  CHECK(view->describe()[2] == "header user: removed");

  // No masked header present: nothing changes.
  std::vector<record_header> unrelated = {{"other", std::string_view(other)}};
  in.headers = unrelated;
  applied b;
  run(*view, in, b);
  CHECK_FALSE(b.result.headers_changed);
}

TEST_CASE("view: compile errors carry the rule's location") {
  view_rule r;
  mask_rule m = mask({"name"}, mask_function::hash);
  m.at = {"policies/views.yaml", 12, 9};
  r.masks = {m};
  std::vector<const view_rule*> rules = {&r};
  auto v = topic_view::compile(rules, principal("p"), "");
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error() == "policies/views.yaml:12:9: mask 'hash' needs a hash_key");

  view_rule w;
  w.where = "region = 'x'";
  w.where_at = {"policies/views.yaml", 3, 12};
  rules = {&w};
  v = topic_view::compile(rules, principal("p"), hash_key);
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().starts_with("policies/views.yaml:3:12: where: unknown operator '='; did you mean '=='?"));

  view_rule s;
  s.masks = {mask({"items[x]"}, mask_function::redact)};
  rules = {&s};
  v = topic_view::compile(rules, principal("p"), hash_key);
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().starts_with("views.yaml:7:11: field 'items[x]': "));
}

TEST_CASE("view: a mask that changes nothing leaves the record unchanged") {
  view_rule r;
  r.masks = {mask({"email"}, mask_function::redact)};
  auto view = compile({r}, principal("p"));
  applied a;
  run(*view, value_record(R"({"email": "***"})"), a);
  CHECK(a.result.what == verdict::keep);
  CHECK_FALSE(a.result.value_changed);
}

TEST_CASE("view: throughput of the marketing view (printed, not asserted)") {
  auto view = compile({marketing_rule()}, principal("marketing"));
  record_arena arena;
  record_result out;
  record_in in = value_record(ada);
  const int n = 200000;
  int kept = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    view->apply(in, out, arena);
    kept += out.what == verdict::keep;
    if ((i & 1023) == 0) arena.clear();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(kept == n);
  std::printf("marketing view: %.0f records/s (%d records of %zu bytes in %.3f s)\n", n / secs, n, ada.size(), secs);
}

TEST_CASE("view: mutated records never yield broken JSON") {
  auto sales = principal("sales", {"sales"}, {{"territory", "US-WEST"}});
  view_rule masks_all = analytics_rule();
  mask_rule card = mask({"items[*].card"}, mask_function::partial);
  card.keep_last = 4;
  masks_all.masks.push_back(card);
  auto view = compile({marketing_rule(), masks_all}, sales);
  std::string base = ada.substr(0, ada.size() - 1) + R"(, "items": [{"card": "4111111111111111"}, {"card": "x"}]})";
  std::uint64_t state = 0x2545F4914F6CDD1Dull;
  auto rnd = [&](std::uint64_t bound) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % bound;
  };
  int kept = 0, invalid = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string value = base;
    int mutations = static_cast<int>(rnd(3));
    for (int m = 0; m < mutations; ++m) {
      std::size_t at = rnd(value.size());
      if (rnd(2))
        value.erase(at, 1);
      else
        value[at] = static_cast<char>(rnd(256));
    }
    applied a;
    run(*view, value_record(value), a);
    if (a.result.what == verdict::drop_invalid) {
      ++invalid;
      CHECK_FALSE(is_json(value));
    }
    if (a.result.what != verdict::keep) continue;
    ++kept;
    if (!a.result.value_changed) continue;  // every masked member name was mutated away
    INFO(value);
    INFO(*a.result.value);
    CHECK(is_json(*a.result.value));
    // Unless the mutation renamed the member, the address never comes through.
    if (value.find(R"("email": "ada@example.com")") != std::string::npos)
      CHECK(a.result.value->find("ada@example.com") == std::string::npos);
  }
  CHECK(kept > 100);
  CHECK(invalid > 100);
}

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "policies/row_filter/predicate_ast.h"
#include "policies/row_filter/predicate_syntax.h"

using namespace kgw::policies::row_filter;
using kgw::policies::check_predicate;

namespace {

expr parse(std::string_view text) {
  auto e = parse_predicate(text);
  INFO(text);
  if (!e) INFO(e.error().message);
  REQUIRE(e.has_value());
  return *e;
}

}  // namespace

TEST_CASE("predicate parse: precedence is not > comparison > and > or") {
  expr e = parse("a == 1 or b == 2 and not c == 3");
  REQUIRE(e.what == expr::kind::or_);
  REQUIRE(e.children.size() == 2);
  CHECK(e.children[0].what == expr::kind::compare);
  const expr& rhs = e.children[1];
  REQUIRE(rhs.what == expr::kind::and_);
  REQUIRE(rhs.children.size() == 2);
  CHECK(rhs.children[1].what == expr::kind::not_);
  CHECK(rhs.children[1].children[0].what == expr::kind::compare);
  CHECK(rhs.children[1].children[0].op == compare_op::eq);

  expr g = parse("(a == 1 or b == 2) and c == 3");
  REQUIRE(g.what == expr::kind::and_);
  CHECK(g.children[0].what == expr::kind::or_);

  expr chain = parse("a == 1 and b == 2 and c == 3 and d == 4");
  CHECK(chain.what == expr::kind::and_);
  CHECK(chain.children.size() == 4);

  expr nn = parse("not not a == 1");
  REQUIRE(nn.what == expr::kind::not_);
  CHECK(nn.children[0].what == expr::kind::not_);
}

TEST_CASE("predicate parse: operands") {
  expr e = parse(R"(consent.marketing == true)");
  CHECK_FALSE(e.lhs.is_literal);
  CHECK(e.lhs.ref.what == reference::kind::value_field);
  CHECK(e.lhs.ref.path.steps.size() == 2);
  CHECK(e.lhs.ref.text == "consent.marketing");
  CHECK(e.rhs.is_literal);
  CHECK(e.rhs.lit.what == literal::kind::boolean);
  CHECK(e.rhs.lit.b);

  e = parse(R"(name == 'O\'Brien \u00e9')");
  CHECK(e.rhs.lit.what == literal::kind::string);
  CHECK(e.rhs.lit.s == "O'Brien \xC3\xA9");

  e = parse(R"(x == "tab\t")");
  CHECK(e.rhs.lit.s == "tab\t");

  e = parse("n >= -12");
  CHECK(e.op == compare_op::ge);
  CHECK(e.rhs.lit.what == literal::kind::integer);
  CHECK(e.rhs.lit.i == -12);

  e = parse("n < 1200.5");
  CHECK(e.rhs.lit.what == literal::kind::decimal);
  CHECK(e.rhs.lit.d == 1200.5);
  CHECK(e.rhs.lit.s == "1200.5");

  e = parse("n != 1e3");
  CHECK(e.rhs.lit.what == literal::kind::decimal);
  CHECK(e.rhs.lit.d == 1000.0);

  e = parse("x == null");
  CHECK(e.rhs.lit.what == literal::kind::null);

  e = parse(R"(region in ["US-WEST", 'EU', 3, true, null])");
  CHECK(e.op == compare_op::in);
  REQUIRE(e.rhs.lit.what == literal::kind::list);
  REQUIRE(e.rhs.lit.items.size() == 5);
  CHECK(e.rhs.lit.items[1].s == "EU");
  CHECK(e.rhs.lit.items[2].i == 3);

  e = parse("x in []");
  CHECK(e.rhs.lit.items.empty());

  e = parse("value.key == 1");
  CHECK(e.lhs.ref.what == reference::kind::value_field);
  CHECK(e.lhs.ref.path.steps[0].name == "key");

  e = parse("value == 1");
  CHECK(e.lhs.ref.what == reference::kind::value_field);
  CHECK(e.lhs.ref.path.steps.empty());

  e = parse(R"(key == "k1")");
  CHECK(e.lhs.ref.what == reference::kind::key_bytes);
  e = parse(R"(key.tenant == "t")");
  CHECK(e.lhs.ref.what == reference::kind::key_field);
  CHECK(e.lhs.ref.path.steps[0].name == "tenant");

  e = parse(R"(headers.trace == "x")");
  CHECK(e.lhs.ref.what == reference::kind::header);
  CHECK(e.lhs.ref.name == "trace");
  e = parse(R"(headers["content.type"] == "json")");
  CHECK(e.lhs.ref.name == "content.type");
  e = parse(R"(headers.x-trace-id == "x")");
  CHECK(e.lhs.ref.name == "x-trace-id");

  e = parse("timestamp > 1700000000000");
  CHECK(e.lhs.ref.what == reference::kind::timestamp);

  e = parse("region == principal.territory");
  CHECK(e.rhs.ref.what == reference::kind::principal_attribute);
  CHECK(e.rhs.ref.name == "territory");
  CHECK(mentions_principal(e));
  CHECK_FALSE(mentions_principal(parse("region == 'x'")));
  e = parse("region == principal.attributes.name");
  CHECK(e.rhs.ref.what == reference::kind::principal_attribute);
  CHECK(e.rhs.ref.name == "name");
  e = parse(R"(region == principal.attributes["cost-center"])");
  CHECK(e.rhs.ref.name == "cost-center");
  e = parse("owner == principal.name");
  CHECK(e.rhs.ref.what == reference::kind::principal_name);
  e = parse(R"("fraud" in principal.teams)");
  CHECK(e.lhs.is_literal);
  CHECK(e.rhs.ref.what == reference::kind::principal_teams);

  e = parse("exists(consent.marketing)");
  CHECK(e.what == expr::kind::exists);
  CHECK(e.lhs.ref.path.text == "consent.marketing");
  e = parse("exists (headers.trace)");
  CHECK(e.lhs.ref.what == reference::kind::header);
  e = parse("exists == 1");  // a field named exists
  CHECK(e.what == expr::kind::compare);

  e = parse("items[*].sku == 'a'");
  CHECK(e.lhs.ref.path.has_wildcard());

  e = parse("  a==1  and(b!=2)  ");
  CHECK(e.what == expr::kind::and_);
}

TEST_CASE("predicate parse: errors say what and where") {
  struct bad_case {
    std::string text;
    std::size_t offset;
    std::string message_part;
  };
  const std::vector<bad_case> bad = {
      {"", 0, "empty predicate"},
      {"   ", 0, "empty predicate"},
      {"region = 'x'", 7, "unknown operator '='; did you mean '=='?"},
      {"region <> 'x'", 7, "did you mean '!='?"},
      {"a => 1", 2, "did you mean '>='?"},
      {"a == 1 && b == 2", 7, "unknown operator '&&'; did you mean 'and'?"},
      {"a == 1 || b == 2", 7, "did you mean 'or'?"},
      {"a == 1 AND b == 2", 7, "did you mean 'and'?"},
      {"!(a == 1)", 0, "did you mean 'not'?"},
      {"(a == 1 and b == 2", 18, "expected ')' after 'a == 1 and b == 2'"},
      {"(a == 1 && b == 2)", 8, "did you mean 'and'?"},
      {"a == 1)", 6, "unexpected ')'"},
      {"a == 1 b == 2", 7, "unexpected 'b'"},
      {"a", 1, "expected a comparison operator"},
      {"a b", 2, "expected a comparison operator (==, !=, <, <=, >, >=, in) after 'a', found 'b'"},
      {"a ==", 4, "expected a value"},
      {"a == )", 5, "expected a value"},
      {"a == 'x", 5, "unterminated string"},
      {"a == \"x\\q\"", 7, "invalid escape '\\q'"},
      {"a == 01", 5, "leading zero"},
      {"a == 1.", 7, "digits expected after '.'"},
      {"a == 12abc", 5, "invalid number"},
      {"a == 99999999999999999999", 5, "out of range"},
      {"a == [1]", 5, "a list can only follow 'in'"},
      {"a in [1, b]", 9, "lists hold literals only"},
      {"a in [1 2]", 8, "expected ',' or ']'"},
      {"a in [1,", 5, "unterminated list"},
      {"exists('x')", 7, "not a literal"},
      {"exists(a", 8, "expected ')' after 'exists(a'"},
      {"a not in [1]", 2, "'not in' is not an operator"},
      {"a IN [1]", 2, "did you mean 'in'?"},
      {"principal == 'x'", 0, "unknown principal reference"},
      {"principal.attributes == 'x'", 0, "unknown principal reference"},
      {"principal.a.b == 'x'", 0, "unknown principal reference"},
      {"headers == 'x'", 0, "headers needs a header name"},
      {"headers.a.b == 'x'", 0, "expected one header name"},
      {"timestamp.x > 1", 9, "timestamp has no fields"},
      {"a. == 1", 2, "field name"},
      {"items[x] == 1", 6, "expected '*', an index or a quoted name"},
      {"a == 1 and", 10, "expected a condition"},
      {"not", 3, "expected a condition"},
  };
  for (const auto& b : bad) {
    INFO(b.text);
    auto parsed = check_predicate(b.text);
    REQUIRE_FALSE(parsed.has_value());
    const auto* err = &parsed.error();
    INFO(err->message);
    CHECK(err->offset == b.offset);
    CHECK(err->message.find(b.message_part) != std::string::npos);
  }
}

TEST_CASE("predicate parse: check_predicate accepts the documented examples") {
  for (const char* ok : {"consent.marketing == true", "region == principal.territory",
                         "\"fraud\" in principal.teams", "team in principal.teams", "exists(email)",
                         "not (region == \"EU\") or ltv >= 1000", "headers[\"x-tenant\"] == principal.tenant",
                         "key.id > 10 and timestamp < 2000000000000", "items[*].sku in ['a', 'b']",
                         "value.and == 1", "a == -0.5e-3"}) {
    INFO(ok);
    auto parsed = check_predicate(ok);
    if (!parsed) INFO(parsed.error().message);
    CHECK(parsed.has_value());
  }
}

TEST_CASE("predicate parse: nesting is bounded") {
  std::string ok, deep;
  for (int k = 0; k < 30; ++k) ok += "(";
  ok += "a == 1";
  for (int k = 0; k < 30; ++k) ok += ")";
  CHECK(check_predicate(ok).has_value());
  for (int k = 0; k < 100000; ++k) deep += "(";
  deep += "a == 1";
  auto parsed = check_predicate(deep);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().message.find("nested too deeply") != std::string::npos);
  std::string nots;
  for (int k = 0; k < 1000; ++k) nots += "not ";
  CHECK_FALSE(check_predicate(nots + "a == 1").has_value());
}

TEST_CASE("predicate parse: mutated input never breaks the parser") {
  const std::vector<std::string> seeds = {
      R"((consent.marketing == true or region in ['EU', "US"]) and not exists(headers["x-y"]))",
      R"(items[*].sku != 'a\u00e9' and key.id >= -1.5e3 and principal.attributes.t == principal.name)",
  };
  std::uint64_t state = 88172645463325252ull;
  auto rnd = [&](std::uint64_t bound) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % bound;
  };
  int ok = 0, bad = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string text = seeds[rnd(seeds.size())];
    int mutations = 1 + static_cast<int>(rnd(3));
    for (int m = 0; m < mutations; ++m) {
      std::size_t at = rnd(text.size());
      switch (rnd(3)) {
        case 0: text.erase(at, 1 + rnd(4)); break;
        case 1: text.insert(at, 1, "()[]'\"\\.=!<> ,*-0n"[rnd(18)]); break;
        default: text[at] = static_cast<char>(rnd(256)); break;
      }
    }
    auto parsed = check_predicate(text);
    if (!parsed) {
      ++bad;
      INFO(text);
      CHECK(parsed.error().offset <= text.size());
      CHECK_FALSE(parsed.error().message.empty());
    } else {
      ++ok;
    }
  }
  CHECK(bad > 0);
  CHECK(ok > 0);
}

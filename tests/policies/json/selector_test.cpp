#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "policies/json/json_doc.h"
#include "policies/json/selector.h"
#include "policies/json/selector_match.h"
#include "policies/row_filter/predicate_syntax.h"

using namespace kgw::policies::json;
using kgw::policies::check_selector;

namespace {

selector sel(std::string_view text) {
  auto s = parse_selector(text);
  INFO(text);
  REQUIRE(s.has_value());
  return *s;
}

std::vector<std::string> matches(const json_doc& doc, std::string_view text, match_mode mode = match_mode::all) {
  std::vector<std::string> out;
  for_each_match(doc, sel(text), mode, [&](std::uint32_t n) {
    out.emplace_back(doc.text(n));
    return false;
  });
  return out;
}

}  // namespace

TEST_CASE("selector: parses the grammar") {
  auto s = sel("email");
  REQUIRE(s.steps.size() == 1);
  CHECK(s.steps[0].what == selector_step::kind::name);
  CHECK(s.steps[0].name == "email");
  CHECK_FALSE(s.has_wildcard());

  s = sel("address.street");
  REQUIRE(s.steps.size() == 2);
  CHECK(s.steps[1].name == "street");

  s = sel("items[*].card");
  REQUIRE(s.steps.size() == 3);
  CHECK(s.steps[1].what == selector_step::kind::any);
  CHECK(s.has_wildcard());

  s = sel("items[12].card");
  CHECK(s.steps[1].what == selector_step::kind::index);
  CHECK(s.steps[1].index == 12);

  s = sel(R"(meta["x.y"]['a b'].z)");
  REQUIRE(s.steps.size() == 4);
  CHECK(s.steps[1].name == "x.y");
  CHECK(s.steps[2].name == "a b");
  CHECK(s.text == R"(meta["x.y"]['a b'].z)");

  s = sel(R"(["e\u002dmail"])");
  CHECK(s.steps[0].name == "e-mail");

  s = sel("[0].a");
  CHECK(s.steps[0].what == selector_step::kind::index);
  CHECK(sel("x-trace_id$2").steps[0].name == "x-trace_id$2");
  CHECK(sel("2fa").steps[0].name == "2fa");
}

TEST_CASE("selector: errors carry offsets") {
  struct bad_case {
    const char* text;
    std::size_t offset;
  };
  for (const bad_case& b : std::vector<bad_case>{{"", 0},
                                                 {"a.", 2},
                                                 {"a..b", 2},
                                                 {"a[", 2},
                                                 {"a[x]", 2},
                                                 {"a[1", 3},
                                                 {"a[*", 3},
                                                 {"a b", 1},
                                                 {"-a", 0},
                                                 {"a[\"x]", 2},
                                                 {"a[99999999999]", 2},
                                                 {"a.b c", 3}}) {
    INFO(b.text);
    auto parsed = check_selector(b.text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().offset == b.offset);
    CHECK_FALSE(parsed.error().message.empty());
  }
  CHECK(check_selector("items[*].card").has_value());
}

TEST_CASE("selector: matching") {
  json_doc doc;
  REQUIRE(doc.parse(R"({
    "email": "a@b.c",
    "address": {"street": "Main", "zip": 1},
    "items": [{"card": "1111", "sku": "x"}, {"sku": "y"}, {"card": "2222"}],
    "map": {"k1": {"v": 1}, "k2": {"v": 2}},
    "em\u0061il2": true,
    "dup": 1, "dup": 2
  })"));
  CHECK(matches(doc, "email") == std::vector<std::string>{"\"a@b.c\""});
  CHECK(matches(doc, "address.street") == std::vector<std::string>{"\"Main\""});
  CHECK(matches(doc, "address.nope").empty());
  CHECK(matches(doc, "email.x").empty());  // a string has no members
  CHECK(matches(doc, "items[*].card") == std::vector<std::string>{"\"1111\"", "\"2222\""});
  CHECK(matches(doc, "items[0].card") == std::vector<std::string>{"\"1111\""});
  CHECK(matches(doc, "items[1].card").empty());
  CHECK(matches(doc, "items[5].card").empty());
  CHECK(matches(doc, "items[*]").size() == 3);
  CHECK(matches(doc, "map[*].v") == std::vector<std::string>{"1", "2"});
  CHECK(matches(doc, "email2") == std::vector<std::string>{"true"});
  CHECK(matches(doc, "dup") == std::vector<std::string>{"1", "2"});
  CHECK(matches(doc, "dup", match_mode::last) == std::vector<std::string>{"2"});
  CHECK(doc.text(find(doc, sel("address.zip"))) == "1");
  CHECK(find(doc, sel("address.none")) == npos);

  json_doc arr;
  REQUIRE(arr.parse(R"([{"a": 1}, {"a": 2}])"));
  CHECK(matches(arr, "[*].a") == std::vector<std::string>{"1", "2"});
  CHECK(matches(arr, "a").empty());

  json_doc invalid;
  CHECK_FALSE(invalid.parse("{"));
  CHECK(matches(invalid, "a").empty());
}

TEST_CASE("selector: stopping early") {
  json_doc doc;
  REQUIRE(doc.parse(R"({"items": [{"c": 1}, {"c": 2}, {"c": 3}]})"));
  int seen = 0;
  bool stopped = for_each_match(doc, sel("items[*].c"), match_mode::all, [&](std::uint32_t n) {
    ++seen;
    return doc.text(n) == "2";
  });
  CHECK(stopped);
  CHECK(seen == 2);
}

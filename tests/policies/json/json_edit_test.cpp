#include <catch2/catch.hpp>
#include <string>

#include "policies/json/json_doc.h"
#include "policies/json/json_edit.h"

using namespace kgw::policies::json;

namespace {

struct editor {
  json_doc doc;
  json_edits edits;
  explicit editor(std::string_view text) { REQUIRE(doc.parse(text)); }
  std::uint32_t member(std::string_view name, std::uint32_t object = 0) {
    std::uint32_t m = doc.find_member(object, name);
    REQUIRE(m != npos);
    return m;
  }
  std::string result() {
    std::string out;
    edits.apply(doc, out);
    json_doc check;
    INFO(out);
    CHECK(check.parse(out));  // always valid JSON
    return out;
  }
};

}  // namespace

TEST_CASE("json edit: no edits copies the source") {
  editor e(R"( { "a" :  1 ,"b":[ 1,2 ] } )");
  CHECK(e.result() == R"( { "a" :  1 ,"b":[ 1,2 ] } )");
}

TEST_CASE("json edit: replace keeps untouched text byte-identical") {
  std::string text = "{\n  \"id\" : 17,\n  \"email\":\t\"ada@example.com\",  \"n\": 1.50e+2, \"s\": \"\\u00e9\"\n}";
  editor e(text);
  e.edits.replace_text(e.member("email"), R"("***@example.com")");
  CHECK(e.result() ==
        "{\n  \"id\" : 17,\n  \"email\":\t\"***@example.com\",  \"n\": 1.50e+2, \"s\": \"\\u00e9\"\n}");
}

TEST_CASE("json edit: text_buffer replacement and null") {
  editor e(R"({"a": {"deep": [1, 2]}, "b": "x"})");
  std::size_t begin = e.edits.text_buffer().size();
  e.edits.text_buffer() += "\"masked\"";
  e.edits.replace(e.member("b"), begin);
  e.edits.replace_text(e.member("a"), "null");
  CHECK(e.result() == R"({"a": null, "b": "masked"})");
}

TEST_CASE("json edit: remove fixes commas") {
  const std::string text = R"({"a": 1, "b": 2, "c": 3})";
  SECTION("first") {
    editor e(text);
    e.edits.remove(e.member("a"));
    CHECK(e.result() == R"({"b": 2, "c": 3})");
  }
  SECTION("middle") {
    editor e(text);
    e.edits.remove(e.member("b"));
    CHECK(e.result() == R"({"a": 1, "c": 3})");
  }
  SECTION("last") {
    editor e(text);
    e.edits.remove(e.member("c"));
    CHECK(e.result() == R"({"a": 1, "b": 2})");
  }
  SECTION("first and last") {
    editor e(text);
    e.edits.remove(e.member("a"));
    e.edits.remove(e.member("c"));
    CHECK(e.result() == R"({"b": 2})");
  }
  SECTION("last two") {
    editor e(text);
    e.edits.remove(e.member("c"));
    e.edits.remove(e.member("b"));
    CHECK(e.result() == R"({"a": 1})");
  }
  SECTION("first two") {
    editor e(text);
    e.edits.remove(e.member("b"));
    e.edits.remove(e.member("a"));
    CHECK(e.result() == R"({"c": 3})");
  }
  SECTION("all") {
    editor e(text);
    e.edits.remove(e.member("a"));
    e.edits.remove(e.member("b"));
    e.edits.remove(e.member("c"));
    CHECK(e.result() == R"({})");
  }
  SECTION("only member") {
    editor e(R"({ "only" : [1, {"x": 2}] })");
    e.edits.remove(e.member("only"));
    CHECK(e.result() == R"({  })");
  }
  SECTION("with odd whitespace") {
    editor e("{\n  \"a\" : 1 ,\n  \"b\" : 2\n}");
    e.edits.remove(e.member("b"));
    CHECK(e.result() == "{\n  \"a\" : 1\n}");
  }
}

TEST_CASE("json edit: remove array elements and the root") {
  SECTION("elements") {
    editor e(R"([1, 2, 3, 4])");
    e.edits.remove(e.doc.element(0, 0));
    e.edits.remove(e.doc.element(0, 2));
    CHECK(e.result() == R"([2, 4])");
  }
  SECTION("every element") {
    editor e(R"([1,2,3])");
    for (std::uint32_t k = 0; k < 3; ++k) e.edits.remove(e.doc.element(0, k));
    CHECK(e.result() == R"([])");
  }
  SECTION("root") {
    editor e(R"({"a": 1})");
    e.edits.remove(0);
    CHECK(e.result() == "null");
  }
}

TEST_CASE("json edit: nested edits and colliding edits") {
  SECTION("an edit inside a removed member is dropped") {
    editor e(R"({"a": {"b": 1, "c": 2}, "d": 3})");
    std::uint32_t a = e.member("a");
    e.edits.replace_text(e.member("b", a), "\"x\"");
    e.edits.remove(a);
    CHECK(e.result() == R"({"d": 3})");
  }
  SECTION("an edit inside a replaced member is dropped") {
    editor e(R"({"a": {"b": 1}, "d": 3})");
    std::uint32_t a = e.member("a");
    e.edits.replace_text(a, "\"redacted\"");
    e.edits.remove(e.member("b", a));
    CHECK(e.result() == R"({"a": "redacted", "d": 3})");
  }
  SECTION("the higher priority wins on the same node") {
    editor e(R"({"a": "v"})");
    e.edits.replace_text(e.member("a"), "\"low\"", 1);
    e.edits.replace_text(e.member("a"), "\"high\"", 3);
    e.edits.replace_text(e.member("a"), "\"mid\"", 2);
    CHECK(e.result() == R"({"a": "high"})");
  }
  SECTION("removal next to a replaced sibling") {
    editor e(R"({"a": "1", "b": "2", "c": "3"})");
    e.edits.replace_text(e.member("a"), "\"A\"");
    e.edits.remove(e.member("b"));
    e.edits.replace_text(e.member("c"), "\"C\"");
    CHECK(e.result() == R"({"a": "A", "c": "C"})");
  }
  SECTION("removed last member after a replaced one") {
    editor e(R"({"a": "1", "b": "2"})");
    e.edits.replace_text(e.member("a"), "\"A\"");
    e.edits.remove(e.member("b"));
    CHECK(e.result() == R"({"a": "A"})");
  }
  SECTION("removals at several depths") {
    editor e(R"({"items": [{"card": 1, "sku": "a"}, {"sku": "b", "card": 2}], "card": 3})");
    std::uint32_t items = e.member("items");
    e.edits.remove(e.member("card", e.doc.element(items, 0)));
    e.edits.remove(e.member("card", e.doc.element(items, 1)));
    e.edits.remove(e.member("card"));
    CHECK(e.result() == R"({"items": [{"sku": "a"}, {"sku": "b"}]})");
  }
}

TEST_CASE("json edit: clear() reuses the edit set") {
  editor e(R"({"a": 1, "b": 2})");
  e.edits.remove(e.member("a"));
  CHECK(e.result() == R"({"b": 2})");
  e.edits.clear();
  CHECK(e.edits.empty());
  e.edits.remove(e.member("b"));
  CHECK(e.result() == R"({"a": 1})");
}

TEST_CASE("json edit: random documents and edits always give valid JSON") {
  // Deterministic pseudo-random mutations of a corpus: whatever parses, any mix of removals and
  // replacements must serialize to valid JSON, and untouched documents must round-trip.
  const std::vector<std::string> corpus = {
      R"({"id": 17, "name": "Ada", "tags": ["x", "y", "z"], "a": {"b": {"c": [1, {"d": null}]}}, "e": true})",
      R"([{"card": "4111", "cvv": 1}, {"card": "5500"}, [], {}, "s\u00e9", -1.5e3])",
      R"({"only": {"one": {"member": 1}}})",
  };
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto rnd = [&](std::uint64_t bound) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return bound ? state % bound : 0;
  };
  json_doc doc;
  json_edits edits;
  json_doc check;
  int parsed = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = corpus[rnd(corpus.size())];
    int mutations = static_cast<int>(rnd(3));
    for (int m = 0; m < mutations; ++m) {
      std::size_t at = rnd(text.size());
      switch (rnd(3)) {
        case 0: text.erase(at, 1); break;
        case 1: text.insert(at, 1, "{}[],:\"\\0-e "[rnd(13)]); break;
        default: text[at] = static_cast<char>(rnd(256)); break;
      }
    }
    if (!doc.parse(text)) continue;
    ++parsed;
    edits.clear();
    std::uint32_t n = doc.size();
    int count = static_cast<int>(rnd(5));
    for (int k = 0; k < count; ++k) {
      std::uint32_t node = static_cast<std::uint32_t>(rnd(n));
      if (rnd(2))
        edits.remove(node, static_cast<int>(rnd(3)));
      else
        edits.replace_text(node, rnd(2) ? "null" : "\"x\"", static_cast<int>(rnd(3)));
    }
    std::string out;
    edits.apply(doc, out);
    INFO(text);
    INFO(out);
    REQUIRE(check.parse(out));
    if (count == 0) CHECK(out == text);
  }
  CHECK(parsed > 500);
}

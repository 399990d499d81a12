#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "policies/json/json_doc.h"
#include "policies/json/json_text.h"

using namespace kgw::policies::json;

namespace {

bool valid(std::string_view text) {
  json_doc doc;
  return doc.parse(text).has_value();
}

std::string nested(int depth, const char* open, const char* close) {
  std::string s;
  for (int k = 0; k < depth; ++k) s += open;
  for (int k = 0; k < depth; ++k) s += close;
  return s;
}

}  // namespace

TEST_CASE("json: valid documents parse") {
  const std::vector<std::string> ok = {
      "{}", "[]", "0", "-0", "1.5", "-12.25e+3", "1E-2", "1e5", "123456789012345678901234567890",
      "true", "false", "null", "\"\"", "\"abc\"", " \t\r\n{ \"a\" : 1 } \n",
      R"({"a":[1,2,{"b":null}],"c":"d"})", R"(["\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"])",
      "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"",  // é € 😀 as raw UTF-8
      R"("\uD800")", R"("\uDC00x")",                       // lone surrogates: accepted (documented)
      R"({"a":1,"a":2})",                                  // duplicate names: accepted
      "[1e400, -1e400, 1e-400]",
  };
  for (const auto& s : ok) {
    INFO(s);
    CHECK(valid(s));
  }
}

TEST_CASE("json: invalid documents are rejected with an offset") {
  struct bad_case {
    std::string text;
    std::size_t offset;
  };
  const std::vector<bad_case> bad = {
      {"", 0},
      {"   ", 3},
      {"{", 1},
      {"{\"a\":1,}", 7},        // trailing comma in an object
      {"[1,2,]", 5},            // trailing comma in an array
      {"[1 2]", 3},
      {"{\"a\" 1}", 5},
      {"{a:1}", 1},             // unquoted name
      {"{'a':1}", 1},           // single quotes
      {"01", 1},                // leading zero
      {"-", 1},
      {"1.", 2},
      {".5", 0},
      {"1e", 2},
      {"+1", 0},
      {"NaN", 0},
      {"tru", 0},
      {"nulll", 4},             // trailing garbage
      {"{} {}", 3},
      {"\"abc", 0},
      {"\"a\\x\"", 2},          // bad escape
      {"\"\\u12G4\"", 1},
      {"\"\\u12\"", 1},
      {"\"a\tb\"", 2},          // raw control character
      {"\"\xC3\"", 1},          // truncated UTF-8
      {"\"\xC0\xAF\"", 1},      // overlong
      {"\"\xED\xA0\x80\"", 1},  // surrogate encoded in UTF-8
      {"\"\xF4\x90\x80\x80\"", 1},  // above U+10FFFF
      {"\"\xFF\"", 1},
      {"\xEF\xBB\xBF{}", 0},    // byte order mark
      {"[1,2", 4},
  };
  for (const auto& b : bad) {
    INFO(b.text);
    json_doc doc;
    auto parsed = doc.parse(b.text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().offset == b.offset);
    CHECK(std::string(parsed.error().message).size() > 0);
    CHECK_FALSE(doc.valid());
  }
}

TEST_CASE("json: nesting is limited to 128 containers") {
  CHECK(valid(nested(128, "[", "]")));
  CHECK_FALSE(valid(nested(129, "[", "]")));
  std::string objects;
  for (int k = 0; k < 128; ++k) objects += "{\"a\":";
  objects += "1";
  for (int k = 0; k < 128; ++k) objects += "}";
  CHECK(valid(objects));
  // A hostile record far deeper than the limit fails cleanly (no stack exhaustion).
  CHECK_FALSE(valid(nested(100000, "[", "]")));
}

TEST_CASE("json: the tape records spans, keys and links") {
  std::string text = R"( {"id": 17, "name": "Ada", "tags": ["x", "y"], "n\u0061me2": {"a": true}} )";
  json_doc doc;
  REQUIRE(doc.parse(text));
  REQUIRE(doc.size() == 8);  // object, id, name, tags, x, y, name2, a
  CHECK(doc.type(0) == json_type::object);
  CHECK(doc.text(0) == text.substr(1, text.size() - 2));
  CHECK_FALSE(doc.is_member(0));

  std::uint32_t id = doc.find_member(0, "id");
  REQUIRE(id != npos);
  CHECK(doc.type(id) == json_type::number);
  CHECK(doc.text(id) == "17");
  CHECK(doc.key_raw(id) == "id");

  std::uint32_t name = doc.find_member(0, "name");
  CHECK(doc.text(name) == "\"Ada\"");
  CHECK(doc.string_raw(name) == "Ada");
  CHECK(doc.string_equals(name, "Ada"));
  CHECK(doc.node(name).prev == id);
  CHECK(doc.node(id).next == name);

  std::uint32_t tags = doc.find_member(0, "tags");
  CHECK(doc.type(tags) == json_type::array);
  std::uint32_t y = doc.element(tags, 1);
  REQUIRE(y != npos);
  CHECK(doc.text(y) == "\"y\"");
  CHECK(doc.node(y).parent == tags);
  CHECK(doc.node(y).depth == 2);
  CHECK(doc.element(tags, 2) == npos);
  CHECK(doc.element(name, 0) == npos);  // not an array

  // Keys compare by unescaped content.
  std::uint32_t name2 = doc.find_member(0, "name2");
  REQUIRE(name2 != npos);
  CHECK(doc.key_raw(name2) == "n\\u0061me2");
  std::uint32_t a = doc.find_member(name2, "a");
  CHECK(doc.type(a) == json_type::boolean);
  CHECK(doc.boolean(a));
  CHECK(doc.node(name2).next == npos);
  CHECK(doc.first_child(id) == npos);
}

TEST_CASE("json: strings compare and unescape by content") {
  json_doc doc;
  REQUIRE(doc.parse(R"(["caf\u00e9", "café", "a\"b", "\uD83D\uDE00", "\uD800x", "plain"])"));
  std::uint32_t e0 = doc.element(0, 0), e1 = doc.element(0, 1), e2 = doc.element(0, 2), e3 = doc.element(0, 3),
                e4 = doc.element(0, 4), e5 = doc.element(0, 5);
  CHECK(doc.string_escaped(e0));
  CHECK_FALSE(doc.string_escaped(e1));
  CHECK(doc.string_equals(e0, "café"));
  CHECK(doc.string_equals(e1, "café"));
  CHECK_FALSE(doc.string_equals(e0, "cafe"));
  CHECK(compare_unescaped(doc.string_raw(e0), true, doc.string_raw(e1), false) == 0);
  std::string out;
  doc.string_value(e2, out);
  CHECK(out == "a\"b");
  out.clear();
  doc.string_value(e3, out);
  CHECK(out == "\xF0\x9F\x98\x80");
  out.clear();
  doc.string_value(e4, out);
  CHECK(out == "\xEF\xBF\xBDx");  // lone surrogate -> U+FFFD
  CHECK_FALSE(doc.string_escaped(e5));
}

TEST_CASE("json: duplicate members, find_member takes the last") {
  json_doc doc;
  REQUIRE(doc.parse(R"({"a": 1, "b": 2, "a": 3})"));
  CHECK(doc.text(doc.find_member(0, "a")) == "3");
  CHECK(doc.find_member(0, "zz") == npos);
}

TEST_CASE("json: numbers") {
  auto n = parse_number("17");
  CHECK(n.integral);
  CHECK(n.i == 17);
  n = parse_number("-9223372036854775808");
  CHECK(n.integral);
  CHECK(n.i == INT64_MIN);
  n = parse_number("9223372036854775808");  // past int64: a double
  CHECK_FALSE(n.integral);
  CHECK(n.d == Approx(9.223372036854775808e18));
  n = parse_number("1200.5");
  CHECK_FALSE(n.integral);
  CHECK(n.d == 1200.5);
  n = parse_number("1e2");
  CHECK_FALSE(n.integral);
  CHECK(n.d == 100.0);
  n = parse_number("1e400");
  CHECK(std::isinf(n.d));
  CHECK(n.d > 0);
  n = parse_number("-1e400");
  CHECK(std::isinf(n.d));
  CHECK(n.d < 0);
  n = parse_number("1e-400");
  CHECK(n.d == 0.0);
}

TEST_CASE("json: a document is reused without keeping old nodes") {
  json_doc doc;
  REQUIRE(doc.parse(R"({"a": [1, 2, 3, 4, 5]})"));
  CHECK(doc.size() == 7);
  REQUIRE(doc.parse("42"));
  CHECK(doc.size() == 1);
  CHECK(doc.type(0) == json_type::number);
  REQUIRE_FALSE(doc.parse("{oops"));
  CHECK(doc.size() == 0);
  CHECK_FALSE(doc.valid());
}

TEST_CASE("json text: escaping produces valid JSON string bodies") {
  std::string out;
  escape_append("a\"b\\c\n\x01 \xC3\xA9 \xFF", out);
  CHECK(out == "a\\\"b\\\\c\\n\\u0001 \xC3\xA9 \xEF\xBF\xBD");
  out.clear();
  quote_append("x", out);
  CHECK(out == "\"x\"");
  // What escape_append writes parses back to the same content.
  std::string text = "\"";
  escape_append("tab\there \"quoted\" \xE2\x82\xAC", text);
  text += "\"";
  json_doc doc;
  REQUIRE(doc.parse(text));
  CHECK(doc.string_equals(0, "tab\there \"quoted\" \xE2\x82\xAC"));
}

TEST_CASE("json text: code points") {
  CHECK(utf8_length("abc") == 3);
  CHECK(utf8_length("h\xC3\xA9") == 2);
  CHECK(utf8_suffix("abcdef", 2) == "ef");
  CHECK(utf8_suffix("ab", 5) == "ab");
  CHECK(utf8_suffix("x\xC3\xA9\xE2\x82\xAC", 2) == "\xC3\xA9\xE2\x82\xAC");
  CHECK(utf8_suffix("abc", 0).empty());
  CHECK(compare_unescaped("abc", false, "abd", false) < 0);
  CHECK(compare_unescaped("\\u0062", true, "a", false) > 0);
  CHECK(equals_unescaped("\\n", true, "\n"));
  CHECK_FALSE(equals_unescaped("\\n", true, "\\n"));
}

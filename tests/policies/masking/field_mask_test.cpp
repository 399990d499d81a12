#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "policies/json/json_doc.h"
#include "policies/json/selector_match.h"
#include "policies/masking/field_mask.h"
#include "policies/masking/hmac_sha256.h"

using namespace kgw::policies;
using kgw::policies::mask_function;
using kgw::policies::mask_rule;
using masking::field_mask;

namespace {

const std::string key = "test-hash-key";

// HMAC-SHA-256 computed by OpenSSL's one-shot HMAC(), independently of the code under test.
std::string reference_hmac(std::string_view k, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xF];
  }
  return out;
}

field_mask make(mask_function f, int keep_last = 0, bool keep_domain = false, std::string replacement = "***") {
  mask_rule r;
  r.function = f;
  r.keep_last = keep_last;
  r.keep_domain = keep_domain;
  r.replacement = std::move(replacement);
  auto m = field_mask::compile(r, key);
  REQUIRE(m.has_value());
  return *m;
}

// The JSON text mask m makes of `json`.
std::string on_json(const field_mask& m, std::string_view json_text) {
  json::json_doc doc;
  REQUIRE(doc.parse(json_text));
  std::string out;
  REQUIRE(m.mask_json(doc, 0, out));
  json::json_doc check;
  CHECK(check.parse(out));
  return out;
}

std::string on_bytes(const field_mask& m, std::string_view in) {
  std::string out;
  REQUIRE(m.mask_bytes(in, out) == field_mask::bytes_result::value);
  return out;
}

}  // namespace

TEST_CASE("mask: redact") {
  auto m = make(mask_function::redact);
  CHECK(on_json(m, R"("secret")") == R"("***")");
  CHECK(on_json(m, "12345") == R"("***")");
  CHECK(on_json(m, R"({"a": 1})") == R"("***")");
  auto custom = make(mask_function::redact, 0, false, "[hidden \"x\"]");
  CHECK(on_json(custom, R"("s")") == R"("[hidden \"x\"]")");
  CHECK(on_bytes(custom, "abc") == "[hidden \"x\"]");
  CHECK(m.describe() == R"(replaced by "***")");
}

TEST_CASE("mask: partial keep_domain") {
  auto m = make(mask_function::partial, 0, true);
  CHECK(on_json(m, R"("ada@example.com")") == R"("***@example.com")");
  CHECK(on_json(m, R"("ada\u0040example.com")") == R"("***@example.com")");  // unescaped first
  CHECK(on_json(m, R"("no-at-sign")") == R"("***")");
  CHECK(on_json(m, R"("a@b@c.org")") == R"("***@c.org")");
  CHECK(on_bytes(m, "ada@example.com") == "***@example.com");
  CHECK(m.describe() == "partially masked, keeps the domain (ada@example.com -> ***@example.com)");
}

TEST_CASE("mask: partial keep_last") {
  auto m = make(mask_function::partial, 4);
  CHECK(on_json(m, R"("+1-555-0100")") == R"("***0100")");
  CHECK(on_json(m, R"("0100")") == R"("***")");  // not longer than N: nothing revealed
  CHECK(on_json(m, R"("100")") == R"("***")");
  CHECK(on_json(m, R"("")") == R"("***")");
  CHECK(on_json(m, "4111111111111111") == R"("***1111")");  // a number: its JSON text
  CHECK(on_json(m, R"("h\u00e9llo w\u00f6rld")") == "\"***\xC3\xB6rld\"");  // code points, not bytes
  CHECK(on_json(m, R"("ab\"cde")") == R"("***\"cde")");  // re-escaped
  CHECK(on_bytes(m, "+1-555-0100") == "***0100");
  CHECK(m.describe() == "partially masked, keeps the last 4 characters (+1-555-0100 -> ***0100)");
  auto one = make(mask_function::partial, 1, false, "#");
  CHECK(on_json(one, R"("xyz")") == R"("#z")");
  CHECK(one.describe() == "partially masked, keeps the last 1 character (+1-555-0100 -> #0)");
  auto none = make(mask_function::partial);
  CHECK(on_json(none, R"("abc")") == R"("***")");
}

TEST_CASE("mask: hash is HMAC-SHA-256 over the unescaped content") {
  auto m = make(mask_function::hash);
  CHECK(on_json(m, R"("Ada Lovelace")") == "\"" + reference_hmac(key, "Ada Lovelace") + "\"");
  // The same string written with escapes gives the same token.
  CHECK(on_json(m, R"("Ada\u0020Lovelace")") == on_json(m, R"("Ada Lovelace")"));
  CHECK(on_json(m, R"("caf\u00e9")") == "\"" + reference_hmac(key, "caf\xC3\xA9") + "\"");
  // Non-strings: over their JSON text.
  CHECK(on_json(m, "1200.5") == "\"" + reference_hmac(key, "1200.5") + "\"");
  CHECK(on_json(m, R"({"a":1})") == "\"" + reference_hmac(key, R"({"a":1})") + "\"");
  CHECK(on_bytes(m, "raw key bytes") == reference_hmac(key, "raw key bytes"));
  CHECK(on_bytes(m, "") == reference_hmac(key, ""));
  std::string token = on_json(m, R"("x")");
  CHECK(token.size() == 66);
  CHECK(token.find_first_not_of("\"0123456789abcdef") == std::string::npos);
  CHECK(m.describe() == "replaced by a stable HMAC-SHA-256 token");

  // Another key gives other tokens; the per-thread context re-keys correctly in between.
  auto d1 = masking::hmac_sha256("k1", "data");
  auto d2 = masking::hmac_sha256("k2", "data");
  auto d1b = masking::hmac_sha256("k1", "data");
  REQUIRE(d1);
  REQUIRE(d2);
  REQUIRE(d1b);
  CHECK(*d1 != *d2);
  CHECK(*d1 == *d1b);
  char hex[64];
  REQUIRE(masking::hmac_sha256_hex("k2", "data", hex));
  CHECK(std::string(hex, 64) == reference_hmac("k2", "data"));

  // Other threads compute the same tokens with their own context.
  std::string from_thread;
  std::thread t([&] { from_thread = on_bytes(m, "Ada Lovelace"); });
  t.join();
  CHECK(from_thread == reference_hmac(key, "Ada Lovelace"));
}

TEST_CASE("mask: hash needs a key") {
  mask_rule r;
  r.function = mask_function::hash;
  auto m = field_mask::compile(r, "");
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error() == "mask 'hash' needs a hash_key");
  r.function = mask_function::redact;
  CHECK(field_mask::compile(r, "").has_value());  // only hash needs it
}

TEST_CASE("mask: null and remove") {
  auto n = make(mask_function::null);
  CHECK(on_json(n, R"("x")") == "null");
  std::string out;
  CHECK(n.mask_bytes("x", out) == field_mask::bytes_result::null);
  CHECK(n.describe() == "set to null");
  auto r = make(mask_function::remove);
  CHECK(r.mask_bytes("x", out) == field_mask::bytes_result::remove);
  CHECK(r.describe() == "removed");
  CHECK(out.empty());
}

TEST_CASE("mask: strength orders the functions") {
  CHECK(masking::strength(mask_function::remove) > masking::strength(mask_function::null));
  CHECK(masking::strength(mask_function::null) > masking::strength(mask_function::redact));
  CHECK(masking::strength(mask_function::redact) > masking::strength(mask_function::hash));
  CHECK(masking::strength(mask_function::hash) > masking::strength(mask_function::partial));
  CHECK(std::string(masking::name_of(mask_function::partial)) == "partial");
}

TEST_CASE("mask: every node a wildcard selects") {
  json::json_doc doc;
  REQUIRE(doc.parse(R"({"items": [{"card": "4111111111111111"}, {"card": "5500000000000004"}, {"x": 1}]})"));
  auto sel = json::parse_selector("items[*].card");
  REQUIRE(sel);
  auto m = make(mask_function::partial, 4);
  std::vector<std::string> out;
  json::for_each_match(doc, *sel, json::match_mode::all, [&](std::uint32_t node) {
    std::string s;
    CHECK(m.mask_json(doc, node, s));
    out.push_back(s);
    return false;
  });
  CHECK(out == std::vector<std::string>{R"("***1111")", R"("***0004")"});
}

// Regression (issue 9, defect 1): `partial` on a value that is not a string used to keep a raw
// slice of its JSON text, i.e. the neighbouring fields (ada's phone after the last '@').
TEST_CASE("mask: partial never keeps text of booleans, null, objects or arrays") {
  auto domain = make(mask_function::partial, 0, true);
  auto last4 = make(mask_function::partial, 4);
  for (const char* v : {R"({"addr": "ada@example.com", "phone": "+1-555-0100"})",
                        R"(["ada@example.com", "+1-555-0100"])", R"({"a": {"b": ["x@y.z"]}})", "[]", "{}", "true",
                        "false", "null"}) {
    INFO(v);
    CHECK(on_json(domain, v) == R"("***")");
    CHECK(on_json(last4, v) == R"("***")");
  }
  // Numbers are their own content: no '@', so keep_domain keeps nothing; keep_last keeps digits.
  CHECK(on_json(domain, "12345") == R"("***")");
  CHECK(on_json(last4, "-1.5e10") == R"("***5e10")");
  CHECK(on_json(last4, "1234") == R"("***")");
}

namespace {

// Random JSON of every type and nesting, with strings that hold '@', escapes and multi-byte
// characters, and a sentinel in every string so a leaked neighbour is recognisable.
struct json_gen {
  std::mt19937_64 rng;
  int counter = 0;
  std::string string_literal() {
    static const char* pieces[] = {"ada", "@", "example.com", "\\u0040", "\\\"", "\\\\", "\xC3\xA9", "\\u00e9",
                                   "+1-555-0100", " ", "\\n", "}", "]", ",", "\\ud83d\\ude00", "\xF0\x9F\x98\x80"};
    std::string s = "\"S" + std::to_string(counter++);
    for (int n = static_cast<int>(rng() % 6); n > 0; --n) s += pieces[rng() % std::size(pieces)];
    return s + "\"";
  }
  std::string number() {
    static const char* nums[] = {"0", "-1", "4111111111111111", "1.5", "-2.25e-3", "1E+30", "12345678"};
    return nums[rng() % std::size(nums)];
  }
  std::string value(int depth) {
    switch (rng() % (depth > 3 ? 5 : 7)) {
      case 0: return "null";
      case 1: return rng() % 2 ? "true" : "false";
      case 2: return number();
      case 3:
      case 4: return string_literal();
      case 5: {
        std::string s = "[";
        for (int n = static_cast<int>(rng() % 4); n > 0; --n) s += value(depth + 1) + (n > 1 ? ", " : "");
        return s + "]";
      }
      default: {
        std::string s = "{";
        for (int n = static_cast<int>(rng() % 4); n > 0; --n)
          s += "\"k" + std::to_string(rng() % 3) + "@x\": " + value(depth + 1) + (n > 1 ? "," : "");
        return s + "}";
      }
    }
  }
};

// The unescaped content of a JSON string literal.
std::string unquote(std::string_view literal) {
  json::json_doc d;
  REQUIRE(d.parse(literal));
  REQUIRE(d.type(0) == json::json_type::string);
  std::string out;
  d.string_value(0, out);
  return out;
}

}  // namespace

// The masking property: whatever the node's type and whatever surrounds it, a mask emits its
// replacement, a token, null, or the replacement followed by part of the node's own string (or
// number) content, and nothing else.
TEST_CASE("mask: randomized property over every JSON type and nesting") {
  json_gen gen{std::mt19937_64(20261205)};
  std::vector<std::pair<std::string, field_mask>> masks;
  masks.emplace_back("redact", make(mask_function::redact, 0, false, "[x]"));
  masks.emplace_back("domain", make(mask_function::partial, 0, true));
  masks.emplace_back("last1", make(mask_function::partial, 1, false, "#"));
  masks.emplace_back("last4", make(mask_function::partial, 4));
  masks.emplace_back("none", make(mask_function::partial));
  masks.emplace_back("hash", make(mask_function::hash));
  masks.emplace_back("null", make(mask_function::null));
  json::json_doc doc;
  std::size_t checked = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string text = gen.value(0);
    REQUIRE(doc.parse(text));
    for (std::uint32_t node = 0; node < doc.size(); ++node) {
      // The content partial may keep part of: a string's unescaped content, a number's text.
      std::optional<std::string> content;
      if (doc.type(node) == json::json_type::string) {
        content.emplace();
        doc.string_value(node, *content);
      } else if (doc.type(node) == json::json_type::number) {
        content = std::string(doc.text(node));
      }
      for (const auto& [name, m] : masks) {
        INFO(name << " on node " << node << " of " << text);
        std::string out;
        REQUIRE(m.mask_json(doc, node, out));
        ++checked;
        if (name == "null") {
          CHECK(out == "null");
          continue;
        }
        const std::string got = unquote(out);
        if (name == "redact") {
          CHECK(got == "[x]");
        } else if (name == "hash") {
          CHECK(got.size() == 64);
          CHECK(got.find_first_not_of("0123456789abcdef") == std::string::npos);
        } else {
          const std::string repl = name == "last1" ? "#" : "***";
          REQUIRE(got.starts_with(repl));
          const std::string kept = got.substr(repl.size());
          if (kept.empty()) continue;
          // Something kept: only from a string or number, and only a suffix of its content.
          REQUIRE(content.has_value());
          CHECK(content->ends_with(kept));
          if (name == "domain") {
            CHECK(kept == content->substr(content->rfind('@')));
          } else {
            const std::size_t n = name == "last1" ? 1 : 4;
            CHECK(json::utf8_length(kept) == n);
            CHECK(json::utf8_length(*content) > n);
          }
        }
      }
    }
  }
  CHECK(checked > 30000);  // every node of every document, under each mask
}

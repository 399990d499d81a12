#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "policies/json/json_doc.h"
#include "policies/json/selector_match.h"
#include "policies/masking/field_mask.h"
#include "policies/masking/hmac_sha256.h"

using namespace kgw::policies;
using kgw::config::mask_function;
using kgw::config::mask_rule;
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
  REQUIRE_FALSE(doc.parse(json_text));
  std::string out;
  REQUIRE(m.mask_json(doc, 0, out));
  json::json_doc check;
  CHECK_FALSE(check.parse(out));
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
  REQUIRE_FALSE(doc.parse(R"({"items": [{"card": "4111111111111111"}, {"card": "5500000000000004"}, {"x": 1}]})"));
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

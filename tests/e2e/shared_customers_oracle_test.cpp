// Unit checks of the shared-customers oracle (no gateway, fast): the HMAC against RFC 4231, and
// each team's expectation on hand-written customers, accepting the right delivery and rejecting
// each kind of wrong one. The end-to-end test is only as strict as this reference.
#include <catch2/catch.hpp>

#include "tests/e2e/shared_customers_oracle.h"

namespace kgw::e2e::shared_customers {
namespace {

// RFC 4231 test case 2.
TEST_CASE("shared customers oracle: HMAC-SHA-256 hex matches RFC 4231 and email_domain takes the part after the last @",
          "[scenario]") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256_hex("k", "same") == hmac_sha256_hex("k", "same"));
  CHECK(hmac_sha256_hex("k", "same") != hmac_sha256_hex("k2", "same"));
  CHECK(hmac_sha256_hex("k", "").size() == 64);
  CHECK(email_domain("ada@example.com") == "example.com");
  CHECK(email_domain("zoë@exämple.de") == "exämple.de");
  CHECK(email_domain("nobody") == "");
}

TEST_CASE("shared customers oracle: each team's expectation accepts the right delivery and rejects wrong ones",
          "[scenario]") {
  oracle o("demo-key", "US-WEST");
  // Consenting, US-WEST, written with \u escapes (the parsed strings are "Zoë" and "zoë@…").
  const std::string ada =
      R"({"id": 17, "name": "Z\u00f6\u00eb \"Q\"", "email": "zo\u00eb@example.com", "phone": "+1-555-0100", )"
      R"("region": "US-WEST", "consent": {"marketing": true}, "ltv": 1200.5})";
  const std::string bob =
      R"({"id":18,"name":"Bob","email":"bob@example.org","phone":"+1-555-0101","region":"us-west","consent":{"marketing":false},"ltv":3})";
  const std::string cat =
      R"({"id":19,"name":"Cat","email":"cat@example.org","phone":"+1-555-0102","region":"EU","consent":{"marketing":"true"},"ltv":1})";
  REQUIRE_FALSE(o.add("17", ada));
  REQUIRE_FALSE(o.add("18", bob));
  REQUIRE_FALSE(o.add("19", cat));
  CHECK(o.add("17", ada));                 // twice
  CHECK(o.add("20", "not json"));          // not JSON
  CHECK(o.add("21", R"({"id": 21})"));     // no name, email, phone
  CHECK(o.size() == 3);

  CHECK(o.expected_keys(reader::marketing) == std::set<std::string>{"17"});  // "true" is not true
  CHECK(o.expected_keys(reader::sales) == std::set<std::string>{"17"});      // exact, case-sensitive
  CHECK(o.expected_count(reader::analytics) == 3);
  CHECK(o.expected_count(reader::fraud) == 3);

  // marketing: masked, key order and number spelling free.
  CHECK_FALSE(o.check(reader::marketing, "17",
                      R"({"ltv":1.2005e3,"consent":{"marketing":true},"region":"US-WEST","email":"***@example.com",)"
                      R"("name":"Zöë \"Q\"","id":17})"));
  CHECK(o.check(reader::marketing, "17", ada));  // not masked
  CHECK(o.check(reader::marketing, "17",
                R"({"id":17,"name":"Zöë \"Q\"","email":"***@example.com","phone":null,"region":"US-WEST","consent":{"marketing":true},"ltv":1200.5})"));
  CHECK(o.check(reader::marketing, "17",
                R"({"id":17,"name":"Zöë \"Q\"","email":"***@example.com","region":"US-WEST","consent":{"marketing":true},"ltv":1200.5,"x":1})"));
  CHECK(o.check(reader::marketing, "18", bob));  // excluded by the row filter
  CHECK(o.check(reader::marketing, "99", ada));  // unknown key
  CHECK(o.check(reader::marketing, "17", "{\"id\":17"));  // not JSON

  // analytics: tokens of the unescaped strings.
  const std::string name_token = hmac_sha256_hex("demo-key", "Zöë \"Q\"");
  const std::string email_token = hmac_sha256_hex("demo-key", "zoë@example.com");
  const std::string phone_token = hmac_sha256_hex("demo-key", "+1-555-0100");
  const std::string good = R"({"id":17,"name":")" + name_token + R"(","email":")" + email_token + R"(","phone":")" +
                           phone_token + R"(","region":"US-WEST","consent":{"marketing":true},"ltv":1200.5})";
  CHECK_FALSE(o.check(reader::analytics, "17", good));
  const std::string escaped_token = hmac_sha256_hex("demo-key", R"(Z\u00f6\u00eb \"Q\")");  // hashed the raw text
  std::string wrong = good;
  wrong.replace(wrong.find(name_token), name_token.size(), escaped_token);
  CHECK(o.check(reader::analytics, "17", wrong));
  std::string upper_token = name_token;
  for (auto& c : upper_token)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  std::string upper = good;
  upper.replace(upper.find(name_token), name_token.size(), upper_token);
  CHECK(o.check(reader::analytics, "17", upper));  // hex must be lowercase

  // sales and fraud: the stored bytes, nothing else.
  CHECK_FALSE(o.check(reader::sales, "17", ada));
  CHECK(o.check(reader::sales, "18", bob));
  CHECK_FALSE(o.check(reader::fraud, "18", bob));
  CHECK_FALSE(o.check(reader::fraud, "19", cat));
  CHECK(o.check(reader::fraud, "17", good));
  CHECK(o.check(reader::fraud, "18", bob + " "));  // same JSON, different bytes
}

}  // namespace
}  // namespace kgw::e2e::shared_customers

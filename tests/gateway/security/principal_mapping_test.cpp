// principal_mapping: Kafka's ssl.principal.mapping.rules (examples from the Kafka docs and
// Kafka's own SslPrincipalMapperTest), SAN rules, flags, escapes and rejected rules.
#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gateway/security/cert_identity.h"
#include "gateway/security/principal_mapping.h"
#include "tests/support/test_pki.h"

using kgw::security::cert_identity;
using kgw::security::principal_mapping;

namespace {

principal_mapping rules(const std::vector<std::string>& text) {
  auto parsed = principal_mapping::parse(text);
  INFO((parsed ? std::string() : parsed.error()));
  REQUIRE(parsed.has_value());
  return *parsed;
}

cert_identity dn(std::string subject) { return cert_identity{.subject_dn = std::move(subject), .sans = {}}; }

std::string parse_error(const std::vector<std::string>& text) {
  const auto parsed = principal_mapping::parse(text);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

}  // namespace

TEST_CASE("principal_mapping: the Kafka documentation's example rules", "[principal_mapping]") {
  const auto mapping = rules({
      "RULE:^CN=(.*?),OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown$/$1/",
      "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
      "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
      "DEFAULT",
  });
  CHECK(mapping.rule_count() == 4);
  CHECK(mapping.map(dn("CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown")) == "serviceuser");
  CHECK(mapping.map(dn("CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown")) == "adminuser@admin");
  CHECK(mapping.map(dn("OU=eng,CN=Mixed.Case,O=x")) == "mixed.case");
  CHECK(mapping.map(dn("OU=JavaSoft,O=Sun Microsystems,C=US")) == "OU=JavaSoft,O=Sun Microsystems,C=US");
}

TEST_CASE("principal_mapping: Kafka's SslPrincipalMapperTest cases", "[principal_mapping]") {
  const auto mapping = rules({
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
      "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
      "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
      "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
      "DEFAULT",
  });
  CHECK(mapping.map(dn("CN=Duke,OU=ServiceUsers,O=Org,C=US")) == "duke");
  CHECK(mapping.map(dn("CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US")) == "duke@sme");
  CHECK(mapping.map(dn("cn=duke,ou=sme,dc=mycp,dc=com")) == "DUKE@SME");
  CHECK(mapping.map(dn("cN=duke,OU=JavaSoft,O=Sun Microsystems")) == "DUKE");
  CHECK(mapping.map(dn("OU=JavaSoft,O=Sun Microsystems,C=US")) == "OU=JavaSoft,O=Sun Microsystems,C=US");

  // An escaped comma inside the CN (Kafka's testCommaWithWhitespace).
  const auto comma = rules({R"(RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/)", "DEFAULT"});
  CHECK(comma.map(dn(R"(CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz)")) == R"(Tkac\, Adam)");

  // Rules Kafka accepts, including character classes holding the flag letters.
  for (const std::string valid :
       {"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/", "RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
        "RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/", "RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/"}) {
    INFO(valid);
    CHECK(principal_mapping::parse({valid}).has_value());
  }
  CHECK(rules({"RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/"}).map(dn("CN=bob,O=x")) == "bob");

  // Rules Kafka rejects.
  for (const std::string invalid : {"DEFAULT/L", "DEFAUL", "DEFAULT/U", "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
                                    "rule:^CN=(.*?),OU=ServiceUsers.*$/$1/", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
                                    "RULE:^CN=(.*?),OU=ServiceUsers.*$/L", "RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
                                    "RULE:^CN=(.*?),OU=ServiceUsers.*$/LU"}) {
    INFO(invalid);
    CHECK_FALSE(principal_mapping::parse({invalid}).has_value());
  }
}

TEST_CASE("principal_mapping: the regex must match the whole DN, and the first matching rule wins",
          "[principal_mapping]") {
  // Unanchored, yet only a whole-DN match counts (Matcher.matches()).
  const auto whole = rules({"RULE:CN=([a-z]+)/$1/"});
  CHECK(whole.map(dn("CN=alice")) == "alice");
  CHECK(whole.map(dn("CN=alice,O=x")) == std::nullopt);
  CHECK(whole.map(dn("X,CN=alice")) == std::nullopt);

  const auto first = rules({"RULE:^CN=([^,]+),OU=admins,.*$/admin-$1/", "RULE:^CN=([^,]+),.*$/$1/", "DEFAULT"});
  CHECK(first.map(dn("CN=root,OU=admins,O=x")) == "admin-root");
  CHECK(first.map(dn("CN=alice,OU=eng,O=x")) == "alice");
  CHECK(first.map(dn("O=x")) == "O=x");

  // Order matters: DEFAULT first shadows everything after it.
  CHECK(rules({"DEFAULT", "RULE:^CN=([^,]+),.*$/$1/"}).map(dn("CN=alice,O=x")) == "CN=alice,O=x");
}

TEST_CASE("principal_mapping: no match, and empty results, give nullopt", "[principal_mapping]") {
  const auto only = rules({"RULE:^CN=([^,]*),.*$/$1/"});
  CHECK(only.map(dn("O=x")) == std::nullopt);
  CHECK(only.map(dn("CN=,O=x")) == std::nullopt);  // empty result counts as no match...
  // ...and the next rule gets its turn.
  CHECK(rules({"RULE:^CN=([^,]*),.*$/$1/", "DEFAULT"}).map(dn("CN=,O=x")) == "CN=,O=x");
  // DEFAULT on a certificate without a subject (SAN-only) yields nothing either.
  CHECK(principal_mapping::default_rules().map(dn("")) == std::nullopt);
  CHECK(principal_mapping::default_rules().map(dn("CN=alice,O=x")) == "CN=alice,O=x");
  CHECK(principal_mapping::default_rules().rule_count() == 1);
}

TEST_CASE("principal_mapping: /L and /U change ASCII case only", "[principal_mapping]") {
  CHECK(rules({"RULE:^CN=([^,]+).*$/$1/L"}).map(dn("CN=Alice-SMITH,O=x")) == "alice-smith");
  CHECK(rules({"RULE:^CN=([^,]+).*$/$1/U"}).map(dn("CN=Alice-smith,O=x")) == "ALICE-SMITH");
  CHECK(rules({"RULE:^CN=([^,]+).*$/$1/"}).map(dn("CN=Alice,O=x")) == "Alice");
  // UTF-8 bytes pass through unharmed.
  CHECK(rules({"RULE:^CN=([^,]+).*$/$1/L"}).map(dn("CN=J\xC3\x9CRGEN,O=x")) == "j\xC3\x9Crgen");
}

TEST_CASE("principal_mapping: replacement syntax", "[principal_mapping]") {
  const auto one = [](const std::string& rule, const std::string& subject) { return rules({rule}).map(dn(subject)); };
  CHECK(one("RULE:^CN=([^,]+),OU=([^,]+)$/$2:$1/", "CN=a,OU=b") == "b:a");
  CHECK(one("RULE:^CN=([^,]+)$/user-$0/", "CN=a") == "user-CN=a");  // $0: the whole DN
  CHECK(one("RULE:^CN=([^,]+)$/$$$1/", "CN=a") == "$a");            // $$: literal '$'
  CHECK(one(R"(RULE:^CN=([^,]+)$/\$$1\\/)", "CN=a") == R"($a\)");   // \$ and \\ as in Java
  CHECK(one("RULE:^CN=([^,]+)$/$10/", "CN=a") == "a0");             // one group: $1 then "0"
  CHECK(one("RULE:^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)$/$12$11-$10/", "abcdefghijkl") == "lk-j");
  CHECK(one("RULE:^CN=([^,]+)(,OU=([^,]+))?$/$1[$3]/", "CN=a") == "a[]");  // unmatched group: nothing

  CHECK_THAT(parse_error({"RULE:^CN=([^,]+)$/$2/"}), Catch::Contains("group $2") && Catch::Contains("1 group"));
  CHECK_THAT(parse_error({"RULE:^CN=(.*)$/$x/"}), Catch::Contains("'$'"));
  CHECK_THAT(parse_error({"RULE:^CN=(.*)$/a$/"}), Catch::Contains("'$'"));
}

TEST_CASE("principal_mapping: escaped slashes in regex and replacement", "[principal_mapping]") {
  const auto mapping = rules({R"(RULE:^CN=([^,]+),OU=([^,]+),.*$/$2\/$1/)", R"(RULE:^CN=([^,]+)\/([^,]+)$/$1-$2/)"});
  CHECK(mapping.map(dn("CN=alice,OU=eng,O=x")) == "eng/alice");
  CHECK(mapping.map(dn("CN=team/alice")) == "team-alice");
  // An escaped backslash does not escape the following '/'.
  CHECK(rules({R"(RULE:^CN=(.*)\\$/$1/)"}).map(dn(R"(CN=x\)")) == "x");
}

TEST_CASE("principal_mapping: SAN rules", "[principal_mapping]") {
  const cert_identity id{
      .subject_dn = "CN=api,O=Example",
      .sans = {{"DNS", "api.other.net"},
               {"URI", "spiffe://example.org/team/sales"},
               {"DNS", "a.svc.example.org"},
               {"DNS", "b.svc.example.org"},
               {"EMAIL", "api@example.org"},
               {"IP", "10.1.2.3"},
               {"IP", "2001:db8::1"}},
  };

  SECTION("URI: SPIFFE ID to principal, with escaped slashes") {
    const auto mapping = rules({R"(SAN:URI:^spiffe:\/\/example\.org\/team\/([a-z]+)$/team-$1/)"});
    CHECK(mapping.map(id) == "team-sales");
  }
  SECTION("DNS: the first matching entry in certificate order wins") {
    CHECK(rules({R"(SAN:DNS:^([a-z]+)\.svc\.example\.org$/$1/U)"}).map(id) == "A");
  }
  SECTION("the SAN type filters entries") {
    // The URI text would match this regex, but the rule only reads DNS entries.
    CHECK(rules({"SAN:DNS:^spiffe:.*$/x/"}).map(id) == std::nullopt);
    CHECK(rules({"SAN:URI:^spiffe:.*$/x/"}).map(id) == "x");
  }
  SECTION("EMAIL and IP, type written in any case") {
    CHECK(rules({"SAN:email:^([^@]+)@example\\.org$/$1/"}).map(id) == "api");
    CHECK(rules({R"(SAN:IP:^10\.(\d+)\.(\d+)\.(\d+)$/net10-$1-$2-$3/)"}).map(id) == "net10-1-2-3");
    CHECK(rules({"SAN:Ip:^2001:db8::(.*)$/v6-$1/"}).map(id) == "v6-1");
  }
  SECTION("SAN and subject rules interleave in list order") {
    const auto mapping = rules({"SAN:URI:^spiffe:\\/\\/other\\.org\\/(.*)$/$1/", "RULE:^CN=([^,]+),.*$/cn-$1/",
                                "SAN:URI:^spiffe:\\/\\/example\\.org\\/(.*)$/$1/"});
    CHECK(mapping.map(id) == "cn-api");
  }
  SECTION("a certificate without SANs never matches a SAN rule") {
    CHECK(rules({"SAN:DNS:^.*$/x/"}).map(dn("CN=a")) == std::nullopt);
  }
}

TEST_CASE("principal_mapping: on a real certificate", "[principal_mapping]") {
  kgw::testing::test_pki pki("kgw-pki-mapping");
  const auto cert = pki.issue_client("sales", "CN=sales-api,OU=Sales,O=Example Corp,C=US",
                                     {"URI:spiffe://example.org/team/sales", "DNS:sales-api.example.org"});
  const auto mapping = rules({R"(SAN:URI:^spiffe:\/\/example\.org\/team\/(.*)$/$1/)", "DEFAULT"});
  // Read it the way the gateway will, from the PEM a client presents.
  std::FILE* file = std::fopen(cert.cert.c_str(), "r");
  REQUIRE(file != nullptr);
  auto* x509 = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(x509 != nullptr);
  const auto id = kgw::security::read_cert_identity(x509);
  X509_free(x509);
  CHECK(mapping.map(id) == "sales");
  CHECK(rules({"RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$2/L"}).map(id) == "sales-api@sales");
}

TEST_CASE("principal_mapping: malformed rules are rejected with the rule and the reason", "[principal_mapping]") {
  CHECK_THAT(parse_error({}), Catch::Contains("no rules"));

  const auto bad_regex = parse_error({"DEFAULT", "RULE:^CN=(.*$/$1/"});
  CHECK_THAT(bad_regex,
             Catch::Contains("rule [1]") && Catch::Contains("RULE:^CN=(.*$/$1/") && Catch::Contains("invalid regex"));

  CHECK_THAT(parse_error({"RULE:^CN=(.*)$/$1/X"}),
             Catch::Contains("rule [0]") && Catch::Contains("unknown flags \"X\""));
  CHECK_THAT(parse_error({"RULE:^CN=(.*)$"}), Catch::Contains("missing '/' after the regex"));
  CHECK_THAT(parse_error({"RULE:^CN=(.*)$/$1"}), Catch::Contains("missing '/' after the replacement"));
  CHECK_THAT(parse_error({R"(RULE:^CN=(.*)$\/$1/)"}), Catch::Contains("missing '/' after the replacement"));
  CHECK_THAT(parse_error({"RULE:/x/"}), Catch::Contains("empty regex"));
  CHECK_THAT(parse_error({"SAN:OTHERNAME:^(.*)$/$1/"}), Catch::Contains("unknown SAN type \"OTHERNAME\""));
  CHECK_THAT(parse_error({"SAN:^(.*)$/$1/"}), Catch::Contains("needs a type"));
  CHECK_THAT(parse_error({R"(SAN:spiffe:\/\/x\/(.*)$/$1/)"}), Catch::Contains("unknown SAN type \"spiffe\""));
  CHECK_THAT(parse_error({"SAN"}), Catch::Contains("expected DEFAULT, RULE:"));
  CHECK_THAT(parse_error({"SAN:DNS"}), Catch::Contains("needs a type"));
  CHECK_THAT(parse_error({"KERBEROS:x"}), Catch::Contains("expected DEFAULT, RULE:"));
  CHECK_THAT(parse_error({""}), Catch::Contains("rule [0]"));
}

TEST_CASE("principal_mapping: whitespace around a rule is ignored; copies share rules", "[principal_mapping]") {
  const auto mapping = rules({"  RULE:^CN=([^,]+)$/$1/L \n", "\tDEFAULT "});
  CHECK(mapping.map(dn("CN=ALICE")) == "alice");
  CHECK(mapping.map(dn("O=x")) == "O=x");
  const principal_mapping copy = mapping;
  CHECK(copy.rule_count() == 2);
  CHECK(copy.map(dn("CN=BOB")) == "bob");
}

TEST_CASE("principal_mapping: oversized values never reach the regex", "[principal_mapping]") {
  const std::string huge = "CN=" + std::string(principal_mapping::max_match_input, 'a');
  CHECK(rules({"RULE:^CN=(.*)$/$1/"}).map(dn(huge)) == std::nullopt);
  CHECK(rules({"RULE:^CN=(.*)$/$1/", "DEFAULT"}).map(dn(huge)) == huge);
  const std::string fits = "CN=" + std::string(principal_mapping::max_match_input - 3, 'a');
  CHECK(rules({"RULE:^CN=(a*)$/ok/"}).map(dn(fits)) == "ok");
}

#include "gateway/security/jwt.h"

#include <openssl/err.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "tests/support/jwt_test_signer.h"

using namespace kgw::security;
using kgw::testing::base64url_encode;
using kgw::testing::jwt_test_signer;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t t0 = 1'700'000'000;
const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(t0));

std::string at(std::int64_t offset) { return std::to_string(t0 + offset); }

// Key generation is the slow part, so each signer is made once per test run.
const jwt_test_signer& rsa_signer() {
  static const jwt_test_signer signer(jwt_test_signer::algorithm::rs256, "rsa-1");
  return signer;
}
const jwt_test_signer& ec_signer() {
  static const jwt_test_signer signer(jwt_test_signer::algorithm::es256, "ec-1");
  return signer;
}
// Same kid as rsa_signer(), different key: a forger who knows the kid.
const jwt_test_signer& impostor_signer() {
  static const jwt_test_signer signer(jwt_test_signer::algorithm::rs256, "rsa-1");
  return signer;
}

std::string jwks_of(std::initializer_list<const jwt_test_signer*> signers) {
  std::string out = R"({"keys":[)";
  for (const auto* s : signers) out += (out.back() == '[' ? "" : ",") + s->jwk_json();
  return out + "]}";
}

jwt_validator validator_for(std::string_view jwks_json, jwt_rules rules = {}) {
  auto keys = jwks::parse(jwks_json);
  REQUIRE(keys.has_value());
  return jwt_validator(std::move(*keys), std::move(rules));
}

std::string alice_claims(std::string_view extra = "") {
  std::string out = R"({"sub":"alice","iat":)" + at(-10) + R"(,"exp":)" + at(3600);
  if (!extra.empty()) out += "," + std::string(extra);
  return out + "}";
}

std::string json_text(const boost::json::value& v) {
  const auto& s = v.as_string();
  return std::string(s.data(), s.size());
}

struct token_parts {
  std::string header, payload, signature;
};
token_parts split(const std::string& token) {
  const auto a = token.find('.');
  const auto b = token.find('.', a + 1);
  return {token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

// Replaces one base64url character so that the decoded bytes change (the last character only
// carries some bits, so a middle one is used).
std::string flip_middle_char(std::string text) {
  char& c = text[text.size() / 2];
  c = c == 'A' ? 'B' : 'A';
  return text;
}

std::string error_of(const std::expected<jwt_identity, std::string>& result) {
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

// RFC 7628 message: gs2 header, then each pair followed by \x01, then the final \x01.
std::string oauth_message(std::string_view gs2, std::initializer_list<std::string_view> pairs) {
  std::string out(gs2);
  out += '\x01';
  for (auto pair : pairs) {
    out += pair;
    out += '\x01';
  }
  out += '\x01';
  return out;
}

}  // namespace

TEST_CASE("valid RS256 and ES256 tokens are accepted", "[jwt]") {
  for (const auto* signer : {&rsa_signer(), &ec_signer()}) {
    auto validator = validator_for(signer->jwks_json());
    auto identity = validator.validate(signer->sign(alice_claims()), now);
    REQUIRE(identity.has_value());
    CHECK(identity->principal == "alice");
    CHECK(identity->expires_at == now + 3600s);
  }
}

TEST_CASE("principal comes from the configured claim", "[jwt]") {
  jwt_rules rules;
  rules.principal_claim = "preferred_username";
  auto validator = validator_for(rsa_signer().jwks_json(), rules);

  auto identity = validator.validate(rsa_signer().sign(alice_claims(R"("preferred_username":"Alice Smith")")), now);
  REQUIRE(identity.has_value());
  CHECK(identity->principal == "Alice Smith");

  CHECK(error_of(validator.validate(rsa_signer().sign(alice_claims()), now)) ==
        "token has no non-empty string claim \"preferred_username\"");
}

TEST_CASE("principal claim must be a non-empty plain string", "[jwt]") {
  auto validator = validator_for(rsa_signer().jwks_json());
  const std::string exp = R"("exp":)" + at(3600);
  for (std::string claims : {"{" + exp + "}", R"({"sub":"",)" + exp + "}", R"({"sub":42,)" + exp + "}",
                             R"({"sub":["alice"],)" + exp + "}", R"({"sub":null,)" + exp + "}"}) {
    INFO(claims);
    CHECK(error_of(validator.validate(rsa_signer().sign(claims), now)) ==
          "token has no non-empty string claim \"sub\"");
  }
  for (std::string claims :
       {R"({"sub":"ali\nce",)" + exp + "}", R"({"sub":")" + std::string(1025, 'a') + "\"," + exp + "}"}) {
    CHECK_THAT(error_of(validator.validate(rsa_signer().sign(claims), now)), Catch::Contains("control characters"));
  }
  const std::string longest_claims = R"({"sub":")" + std::string(1024, 'a') + "\"," + exp + "}";
  auto longest = validator.validate(rsa_signer().sign(longest_claims), now);
  REQUIRE(longest.has_value());
  CHECK(longest->principal.size() == 1024);
}

TEST_CASE("exp, nbf and iat are checked with clock skew", "[jwt]") {
  jwt_rules rules;
  rules.clock_skew = 30s;
  auto validator = validator_for(ec_signer().jwks_json(), rules);
  auto check = [&](const std::string& claims) { return validator.validate(ec_signer().sign(claims), now); };

  SECTION("exp") {
    CHECK(error_of(check(R"({"sub":"a","exp":)" + at(-31) + "}")) == "token has expired");
    CHECK(error_of(check(R"({"sub":"a","exp":)" + at(-30) + "}")) == "token has expired");  // now == exp + skew
    auto within_skew = check(R"({"sub":"a","exp":)" + at(-29) + "}");
    REQUIRE(within_skew.has_value());
    CHECK(within_skew->expires_at == now - 29s);  // the token's own exp, not extended by the skew
    CHECK(error_of(check(R"({"sub":"a"})")) == "token has no \"exp\" claim");
    CHECK(error_of(check(R"({"sub":"a","exp":")" + at(3600) + "\"}")) == "token \"exp\" claim is not a number");
    CHECK(error_of(check(R"({"sub":"a","exp":true})")) == "token \"exp\" claim is not a number");
    CHECK(error_of(check(R"({"sub":"a","exp":-1})")) == "token has expired");
  }
  SECTION("fractional and far-future exp") {
    auto fractional = check(R"({"sub":"a","exp":)" + at(100) + ".75}");
    REQUIRE(fractional.has_value());
    CHECK(fractional->expires_at == now + 100s);  // rounded down, never extended
    auto far = check(R"({"sub":"a","exp":253402300799})");
    REQUIRE(far.has_value());
    CHECK(far->expires_at > now + 100 * 365 * 24h);
    CHECK(check(R"({"sub":"a","exp":1e300})").has_value());
    CHECK(check(R"({"sub":"a","exp":18446744073709551615})").has_value());
  }
  SECTION("nbf") {
    const std::string exp = R"("exp":)" + at(3600);
    CHECK(error_of(check(R"({"sub":"a",)" + exp + R"(,"nbf":)" + at(31) + "}")) == "token is not valid yet (nbf)");
    CHECK(check(R"({"sub":"a",)" + exp + R"(,"nbf":)" + at(30) + "}").has_value());
    CHECK(check(R"({"sub":"a",)" + exp + R"(,"nbf":)" + at(-1000) + "}").has_value());
    CHECK(error_of(check(R"({"sub":"a",)" + exp + R"(,"nbf":"soon"})")) == "token \"nbf\" claim is not a number");
  }
  SECTION("iat") {
    const std::string exp = R"("exp":)" + at(3600);
    CHECK(error_of(check(R"({"sub":"a",)" + exp + R"(,"iat":)" + at(31) + "}")) ==
          "token is issued in the future (iat)");
    CHECK(error_of(check(R"({"sub":"a",)" + exp + R"(,"iat":)" + at(30) + ".5}")) ==
          "token is issued in the future (iat)");  // fractions round towards rejection
    CHECK(check(R"({"sub":"a",)" + exp + R"(,"iat":)" + at(30) + "}").has_value());
  }
}

TEST_CASE("issuer and audience rules", "[jwt]") {
  jwt_rules rules;
  rules.issuer = "https://idp.example.com/";
  rules.audiences = {"kafka-gateway", "kafka"};
  auto validator = validator_for(rsa_signer().jwks_json(), rules);
  auto check = [&](std::string_view extra) { return validator.validate(rsa_signer().sign(alice_claims(extra)), now); };
  const std::string iss = R"("iss":"https://idp.example.com/")";

  CHECK(check(iss + R"(,"aud":"kafka")").has_value());
  CHECK(check(iss + R"(,"aud":["other","kafka-gateway"])").has_value());

  CHECK(error_of(check(R"("iss":"https://evil.example.com/","aud":"kafka")")) == "token issuer is not accepted");
  CHECK(error_of(check(R"("iss":"https://idp.example.com","aud":"kafka")")) == "token issuer is not accepted");
  CHECK(error_of(check(R"("iss":42,"aud":"kafka")")) == "token issuer is not accepted");
  CHECK(error_of(check(R"("aud":"kafka")")) == "token issuer is not accepted");

  CHECK(error_of(check(iss + R"(,"aud":"other")")) == "token audience is not accepted");
  CHECK(error_of(check(iss + R"(,"aud":["other","another"])")) == "token audience is not accepted");
  CHECK(error_of(check(iss + R"(,"aud":[])")) == "token audience is not accepted");
  CHECK(error_of(check(iss)) == "token has no \"aud\" claim");
  CHECK(error_of(check(iss + R"(,"aud":["kafka",7])")) == "token \"aud\" claim is not a string or an array of strings");
  CHECK(error_of(check(iss + R"(,"aud":{"kafka":true})")) ==
        "token \"aud\" claim is not a string or an array of strings");

  // Without rules, iss and aud are not looked at.
  auto open = validator_for(rsa_signer().jwks_json());
  CHECK(open.validate(rsa_signer().sign(alice_claims(R"("iss":"anyone","aud":"anything")")), now).has_value());
}

TEST_CASE("tampered tokens are rejected without echoing the token", "[jwt]") {
  for (const auto* signer : {&rsa_signer(), &ec_signer()}) {
    INFO(signer->kid());
    auto validator = validator_for(signer->jwks_json());
    const std::string token = signer->sign(alice_claims());
    const auto parts = split(token);
    REQUIRE(validator.validate(token, now).has_value());
    auto error_for = [&](const std::string& header, const std::string& payload, const std::string& signature) {
      return error_of(validator.validate(header + "." + payload + "." + signature, now));
    };

    // Payload
    const std::string forged_payload = base64url_encode(R"({"sub":"admin","exp":)" + at(3600) + "}");
    const std::string error = error_for(parts.header, forged_payload, parts.signature);
    CHECK(error == "token signature is invalid");
    CHECK(error.find(parts.signature) == std::string::npos);

    // Signature: changed, truncated by a byte, empty
    CHECK(error_for(parts.header, parts.payload, flip_middle_char(parts.signature)) == "token signature is invalid");
    const std::string signature_bytes = base64url_decode(parts.signature).value();
    const std::string shorter = base64url_encode(signature_bytes.substr(0, signature_bytes.size() - 1));
    CHECK(error_for(parts.header, parts.payload, shorter) == "token signature is invalid");
    CHECK(error_for(parts.header, parts.payload, "") == "token signature is invalid");

    // Header: a different but equivalent header still changes the signing input.
    const std::string alg = signer == &rsa_signer() ? "RS256" : "ES256";
    const std::string header = base64url_encode(R"({"alg":")" + alg + R"(","kid":")" + signer->kid() + R"("})");
    CHECK(error_for(header, parts.payload, parts.signature) == "token signature is invalid");
  }
}

TEST_CASE("a signature from another key is rejected", "[jwt]") {
  auto validator = validator_for(rsa_signer().jwks_json());
  CHECK(error_of(validator.validate(impostor_signer().sign(alice_claims()), now)) == "token signature is invalid");
  // Without a kid every RSA key is tried, and none fits.
  CHECK(error_of(validator.validate(impostor_signer().sign_with_header(R"({"alg":"RS256"})", alice_claims()), now)) ==
        "token signature is invalid");
}

TEST_CASE("key selection by kid, and every key of the type without one", "[jwt]") {
  const jwt_test_signer second_ec(jwt_test_signer::algorithm::es256, "ec-2");
  auto validator = validator_for(jwks_of({&rsa_signer(), &ec_signer(), &second_ec}));
  CHECK(validator.keys().size() == 3);

  CHECK(validator.validate(second_ec.sign(alice_claims()), now).has_value());
  CHECK(validator.validate(rsa_signer().sign(alice_claims()), now).has_value());
  CHECK(validator.validate(second_ec.sign_with_header(R"({"alg":"ES256"})", alice_claims()), now).has_value());
  CHECK(validator.validate(rsa_signer().sign_with_header(R"({"alg":"RS256","typ":"JWT"})", alice_claims()), now)
            .has_value());

  // The kid names a real key, but not the one that signed.
  CHECK(error_of(validator.validate(second_ec.sign_with_header(R"({"alg":"ES256","kid":"ec-1"})", alice_claims()),
                                    now)) == "token signature is invalid");
  CHECK(error_of(validator.validate(second_ec.sign_with_header(R"({"alg":"ES256","kid":"ec-3"})", alice_claims()),
                                    now)) == "token \"kid\" names no key in the JWKS");
  CHECK(error_of(validator.validate(second_ec.sign_with_header(R"({"alg":"ES256","kid":7})", alice_claims()),
                                    now)) == "token \"kid\" is not a string");
}

TEST_CASE("alg none, HS256 and other algorithms are rejected", "[jwt]") {
  auto validator = validator_for(rsa_signer().jwks_json());
  const std::string payload = base64url_encode(alice_claims());

  for (std::string_view alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = base64url_encode(R"({"alg":")" + std::string(alg) + R"(","kid":"rsa-1"})");
    CHECK(error_of(validator.validate(header + "." + payload + ".", now)) == "token algorithm is not RS256 or ES256");
  }
  // The classic key-confusion attack: the RSA public key used as the HMAC secret.
  for (const std::string& secret : {rsa_signer().public_key_pem(), rsa_signer().jwk_json(), rsa_signer().jwks_json()}) {
    for (std::string_view header : {R"({"alg":"HS256","kid":"rsa-1"})", R"({"alg":"HS256"})"}) {
      const std::string token = jwt_test_signer::sign_hs256(header, alice_claims(), secret);
      CHECK(error_of(validator.validate(token, now)) == "token algorithm is not RS256 or ES256");
    }
  }
  for (std::string_view header : {R"({"alg":"RS512","kid":"rsa-1"})", R"({"alg":"PS256","kid":"rsa-1"})",
                                  R"({"alg":"rs256","kid":"rsa-1"})", R"({"alg":"","kid":"rsa-1"})"}) {
    CHECK(error_of(validator.validate(rsa_signer().sign_with_header(header, alice_claims()), now)) ==
          "token algorithm is not RS256 or ES256");
  }
  CHECK(error_of(validator.validate(rsa_signer().sign_with_header(R"({"kid":"rsa-1"})", alice_claims()), now)) ==
        "token header has no string \"alg\"");
  CHECK(error_of(validator.validate(rsa_signer().sign_with_header(R"({"alg":["RS256"]})", alice_claims()), now)) ==
        "token header has no string \"alg\"");
}

TEST_CASE("an algorithm that does not fit the key type is rejected", "[jwt]") {
  auto both = validator_for(jwks_of({&rsa_signer(), &ec_signer()}));
  // ES256 claimed for the RSA key's kid, and the reverse.
  CHECK(error_of(both.validate(ec_signer().sign_with_header(R"({"alg":"ES256","kid":"rsa-1"})", alice_claims()),
                               now)) == "token algorithm does not fit the key named by \"kid\"");
  CHECK(error_of(both.validate(rsa_signer().sign_with_header(R"({"alg":"RS256","kid":"ec-1"})", alice_claims()),
                               now)) == "token algorithm does not fit the key named by \"kid\"");
  auto ec_only = validator_for(ec_signer().jwks_json());
  CHECK(error_of(ec_only.validate(rsa_signer().sign_with_header(R"({"alg":"RS256"})", alice_claims()), now)) ==
        "token algorithm does not fit any key in the JWKS");
}

TEST_CASE("critical header extensions are refused", "[jwt]") {
  auto validator = validator_for(rsa_signer().jwks_json());
  const std::string token =
      rsa_signer().sign_with_header(R"({"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]})", alice_claims());
  CHECK(error_of(validator.validate(token, now)) == "token header has critical extensions (crit)");
}

TEST_CASE("malformed compact serialization", "[jwt]") {
  auto validator = validator_for(rsa_signer().jwks_json());
  const auto parts = split(rsa_signer().sign(alice_claims()));
  const std::string bad_shape = "token is not a compact JWS (three dot-separated parts)";

  CHECK(error_of(validator.validate("", now)) == "token is empty");
  for (const std::string& token : {std::string("abc"), parts.header + "." + parts.payload, std::string("."),
                                   parts.header + "." + parts.payload + "." + parts.signature + ".",
                                   parts.header + "." + parts.payload + ".." + parts.signature,
                                   std::string("a.b.c.d.e")}) {
    CHECK(error_of(validator.validate(token, now)) == bad_shape);
  }
  const std::string rest = "." + parts.payload + "." + parts.signature;
  CHECK(error_of(validator.validate("!!!!" + rest, now)) == "token header is not valid base64url");
  CHECK(error_of(validator.validate(parts.header + "==" + rest, now)) == "token header is not valid base64url");
  CHECK_FALSE(validator.validate(parts.header.substr(1) + rest, now).has_value());
  CHECK(error_of(validator.validate(base64url_encode("not json") + rest, now)) == "token header is not valid JSON");
  CHECK(error_of(validator.validate(base64url_encode(R"(["RS256"])") + rest, now)) ==
        "token header is not a JSON object");
  CHECK(error_of(validator.validate(base64url_encode(R"({"alg":"RS256",})") + rest, now)) ==
        "token header is not valid JSON");
  CHECK(error_of(validator.validate(std::string(1000, '[') + rest, now)) == "token header is not valid base64url");
  CHECK(error_of(validator.validate(base64url_encode(std::string(1000, '[')) + rest, now)) ==
        "token header is not valid JSON");
  CHECK(error_of(validator.validate(parts.header + "." + parts.payload + "." + parts.signature + "=", now)) ==
        "token signature is not valid base64url");
  CHECK(error_of(validator.validate(std::string(max_jwt_size + 1, 'a'), now)) == "token is larger than 64 KiB");

  // The payload is only decoded once the signature holds; a signed non-JSON payload is caught then.
  CHECK(error_of(validator.validate(rsa_signer().sign("not json"), now)) == "token claim set is not valid JSON");
  CHECK(error_of(validator.validate(rsa_signer().sign(R"(["alice"])"), now)) == "token claim set is not a JSON object");
}

TEST_CASE("base64url decoding is strict", "[jwt]") {
  CHECK(base64url_decode("").value().empty());
  CHECK(base64url_decode("Zg").value() == "f");
  CHECK(base64url_decode("Zm8").value() == "fo");
  CHECK(base64url_decode("Zm9v").value() == "foo");
  CHECK(base64url_decode("-_8").value() == "\xfb\xff");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  for (std::string_view bad : {"Zg==", "Zg=", "Z", "Zm9vY", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9v\n", " Zm9v", "Zm 9v"}) {
    INFO(bad);
    CHECK_FALSE(base64url_decode(bad).has_value());
  }
  CHECK_FALSE(base64url_decode(std::string_view("Zm\09v", 5)).has_value());
  std::mt19937 random(7);
  for (int i = 0; i < 200; ++i) {
    std::string bytes(random() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    CHECK(base64url_decode(base64url_encode(bytes)).value() == bytes);
  }
}

TEST_CASE("JWKS parsing keeps usable keys and skips the rest", "[jwt][jwks]") {
  const std::string rsa = rsa_signer().jwk_json();
  const std::string ec = ec_signer().jwk_json();
  auto ec_json = boost::json::parse(ec).as_object();
  auto rsa_json = boost::json::parse(rsa).as_object();

  auto ec_variant = [&](auto change) {
    auto copy = ec_json;
    change(copy);
    return boost::json::serialize(copy);
  };
  auto rsa_variant = [&](auto change) {
    auto copy = rsa_json;
    change(copy);
    return boost::json::serialize(copy);
  };
  const std::vector<std::string> unusable = {
      R"({"kty":"oct","k":"c2VjcmV0","kid":"hmac"})",
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
      ec_variant([](auto& k) { k["crv"] = "P-384"; }),
      ec_variant([](auto& k) { k["use"] = "enc"; }),
      ec_variant([](auto& k) { k["alg"] = "ES384"; }),
      ec_variant([](auto& k) { k["key_ops"] = boost::json::array{"encrypt"}; }),
      ec_variant([](auto& k) { k["kid"] = 5; }),
      ec_variant([](auto& k) { k.erase("y"); }),
      ec_variant([](auto& k) { k["x"] = "AAAA"; }),
      ec_variant([](auto& k) {  // a point off the curve
        std::string y = kgw::security::base64url_decode(json_text(k["y"])).value();
        y.back() ^= 1;
        k["y"] = base64url_encode(y);
      }),
      rsa_variant([](auto& k) { k["alg"] = "RS512"; }),
      rsa_variant([](auto& k) { k["alg"] = "ES256"; }),
      rsa_variant([](auto& k) { k["e"] = "AQAA"; }),                             // even exponent
      rsa_variant([](auto& k) { k["n"] = base64url_encode(std::string(128, '\xff')); }),  // 1024 bits
      rsa_variant([](auto& k) { k["n"] = "not base64!"; }),
      rsa_variant([](auto& k) { k.erase("kty"); }),
      R"("a string")",
      R"([1,2,3])",
  };
  std::string document = R"({"keys":[)";
  for (const auto& key : unusable) document += key + ",";
  document += rsa + "]}";

  auto keys = jwks::parse(document);
  REQUIRE(keys.has_value());
  CHECK(keys->size() == 1);
  REQUIRE(keys->skipped().size() == unusable.size());
  CHECK(keys->skipped()[0] == "key 0 (kid \"hmac\"): \"kty\" is neither RSA nor EC");
  CHECK(keys->skipped()[2] == "key 2 (kid \"ec-1\"): EC curve is not P-256");
  CHECK(keys->skipped()[3] == "key 3 (kid \"ec-1\"): \"use\" is not \"sig\"");
  CHECK(keys->skipped()[9] == "key 9 (kid \"ec-1\"): EC point is not a valid P-256 public key");
  CHECK(keys->skipped()[13] == "key 13 (kid \"rsa-1\"): RSA modulus is not between 2048 and 8192 bits");

  // The one usable key works, and copies share it.
  jwks copy = *keys;
  jwt_validator validator(copy, {});
  CHECK(validator.validate(rsa_signer().sign(alice_claims()), now).has_value());
  CHECK(validator.validate(ec_signer().sign(alice_claims()), now).error() == "token \"kid\" names no key in the JWKS");

  SECTION("no usable key is an error") {
    std::string none = R"({"keys":[)" + unusable[0] + "," + unusable[2] + "]}";
    CHECK(jwks::parse(none).error() == "JWKS document has no usable RS256 or ES256 signature key");
    CHECK(jwks::parse(R"({"keys":[]})").error() == "JWKS document has no usable RS256 or ES256 signature key");
  }
  SECTION("malformed documents") {
    CHECK(jwks::parse("").error() == "JWKS document is not valid JSON");
    CHECK(jwks::parse(R"({"keys":[)" + rsa).error() == "JWKS document is not valid JSON");
    CHECK(jwks::parse("[" + rsa + "]").error() == "JWKS document is not a JSON object");
    CHECK(jwks::parse(rsa).error() == "JWKS document has no \"keys\" array");
    CHECK(jwks::parse(R"({"keys":{}})").error() == "JWKS document has no \"keys\" array");
    std::string many = R"({"keys":[)";
    for (std::size_t i = 0; i <= max_jwks_keys; ++i) many += (i ? "," : "") + rsa;
    CHECK(jwks::parse(many + "]}").error() == "JWKS document has more than 100 keys");
    CHECK(jwks::parse(std::string(max_jwks_size + 1, ' ')).error() == "JWKS document is larger than 1 MiB");
  }
  SECTION("an RSA modulus with a leading zero octet is tolerated") {
    auto padded = rsa_variant([](auto& k) {
      k["n"] = base64url_encode('\0' + kgw::security::base64url_decode(json_text(k["n"])).value());
    });
    auto v = validator_for(R"({"keys":[)" + padded + "]}");
    CHECK(v.validate(rsa_signer().sign(alice_claims()), now).has_value());
  }
  SECTION("keys without use, alg or kid are usable") {
    auto bare = ec_variant([](auto& k) {
      k.erase("use");
      k.erase("alg");
      k.erase("kid");
      k["key_ops"] = boost::json::array{"verify"};
    });
    auto v = validator_for(R"({"keys":[)" + bare + "]}");
    CHECK(v.validate(ec_signer().sign_with_header(R"({"alg":"ES256"})", alice_claims()), now).has_value());
    // A token naming a kid cannot match a key without one.
    CHECK(v.validate(ec_signer().sign(alice_claims()), now).error() == "token \"kid\" names no key in the JWKS");
  }
}

TEST_CASE("OAUTHBEARER client initial response", "[oauthbearer]") {
  SECTION("valid forms") {
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"auth=Bearer abc.def.ghi"})).value() ==
          "abc.def.ghi");
    auto with_authzid = parse_oauthbearer_client_response(oauth_message("n,a=alice,", {"auth=Bearer t0k-en_"}));
    REQUIRE(with_authzid.has_value());
    CHECK(with_authzid->authzid == "alice");
    CHECK(with_authzid->token == "t0k-en_");
    CHECK(parse_oauthbearer_client_response(oauth_message("n,a=a=2Cb=3Dc,", {"auth=Bearer x"}))->authzid == "a,b=c");
    // Kafka clients append SASL extensions (KIP-342), before or after auth.
    CHECK(parse_oauthbearer_initial_response(
              oauth_message("n,,", {"traceId=123", "auth=Bearer tok", "logicalCluster=lkc-1 x", "empty="}))
              .value() == "tok");
    CHECK(parse_oauthbearer_initial_response(oauth_message("y,,", {"auth=bearer   tok=="})).value() == "tok==");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"auth=BEARER a+b/c~"})).value() == "a+b/c~");
  }
  SECTION("missing or bad auth") {
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {})).error() ==
          "OAUTHBEARER message has no auth value");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"host=example.com"})).error() ==
          "OAUTHBEARER message has no auth value");
    for (std::string_view auth : {"auth=Basic dXNlcjpwYXNz", "auth=Bearer", "auth=Bearer ", "auth=Bearertok",
                                  "auth=Token tok", "auth=", "auth= Bearer tok"}) {
      INFO(auth);
      CHECK_FALSE(parse_oauthbearer_initial_response(oauth_message("n,,", {auth})).has_value());
    }
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"auth=Basic dXNlcjpwYXNz"})).error() ==
          "OAUTHBEARER auth value is not a Bearer credential");
    for (std::string_view auth : {"auth=Bearer tok en", "auth=Bearer tok ", "auth=Bearer to=ken", "auth=Bearer t\"k",
                                  "auth=Bearer =="}) {
      INFO(auth);
      CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {auth})).error() ==
            "OAUTHBEARER bearer token is empty or has invalid characters");
    }
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"auth=Bearer a", "auth=Bearer b"})).error() ==
          "OAUTHBEARER message has more than one auth value");
  }
  SECTION("framing") {
    const std::string good = oauth_message("n,,", {"auth=Bearer tok"});
    CHECK(parse_oauthbearer_initial_response(good.substr(0, good.size() - 1)).error() ==
          "OAUTHBEARER message is not terminated");
    CHECK(parse_oauthbearer_initial_response(good.substr(0, good.size() - 2)).error() ==
          "OAUTHBEARER message is not terminated");
    CHECK(parse_oauthbearer_initial_response("n,,auth=Bearer tok").error() ==
          "OAUTHBEARER message has no separator after the gs2 header");
    CHECK(parse_oauthbearer_initial_response(good + "x").error() == "OAUTHBEARER message has data after its end");
    CHECK(parse_oauthbearer_initial_response(good + "\x01").error() == "OAUTHBEARER message has data after its end");
    CHECK(parse_oauthbearer_initial_response("").error() == "OAUTHBEARER message does not start with a gs2 header");
    CHECK(parse_oauthbearer_initial_response("\x01").error() == "OAUTHBEARER message does not start with a gs2 header");
    CHECK(parse_oauthbearer_initial_response(oauth_message("p=tls-unique,,", {"auth=Bearer tok"})).error() ==
          "OAUTHBEARER does not support channel binding");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,", {"auth=Bearer tok"})).error() ==
          "OAUTHBEARER gs2 header is malformed");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,b=x,", {"auth=Bearer tok"})).error() ==
          "OAUTHBEARER gs2 header is malformed");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,a=,", {"auth=Bearer tok"})).error() ==
          "OAUTHBEARER authzid is empty");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,a=x=2D,", {"auth=Bearer tok"})).error() ==
          "OAUTHBEARER authzid has an invalid escape");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,a=x=", {"auth=Bearer tok"})).error() ==
          "OAUTHBEARER gs2 header is not terminated");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"authBearer tok"})).error() ==
          "OAUTHBEARER key/value pair has no \"=\"");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"auth=Bearer tok", "trace-id=1"})).error() ==
          "OAUTHBEARER key is not alphabetic");
    CHECK(parse_oauthbearer_initial_response(oauth_message("n,,", {"auth=Bearer tok", std::string_view("x=\0", 3)}))
              .error() == "OAUTHBEARER value has invalid characters");
    CHECK(parse_oauthbearer_initial_response(
              oauth_message("n,,", {"auth=Bearer " + std::string(max_jwt_size + 16 * 1024, 'a')}))
              .error() == "OAUTHBEARER message is too large");
  }
  SECTION("a signed token travels through the message and validates") {
    auto validator = validator_for(ec_signer().jwks_json());
    const std::string token = ec_signer().sign(alice_claims());
    auto parsed = parse_oauthbearer_client_response(oauth_message("n,a=alice,", {"auth=Bearer " + token}));
    REQUIRE(parsed.has_value());
    auto identity = validator.validate(parsed->token, now);
    REQUIRE(identity.has_value());
    CHECK(identity->principal == parsed->authzid);
  }
}

TEST_CASE("mutated tokens, JWKS documents and messages never crash and never validate", "[jwt][robustness]") {
  std::mt19937 random(20240611);
  auto mutate = [&](std::string text) {
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = random() % text.size();
      switch (random() % 6) {
        case 0: text[at] = static_cast<char>(random()); break;                       // any byte
        case 1: text[at] = "AZaz09-_.=+/\x01{}\""[random() % 17]; break;           // plausible byte
        case 2: text.erase(at, 1 + random() % 8); break;
        case 3: text.insert(at, 1, static_cast<char>(random())); break;
        case 4: text.resize(at); break;                                              // truncation
        case 5: text.insert(at, text.substr(random() % text.size(), random() % 16)); break;
      }
    }
    return text;
  };

  auto validator = validator_for(jwks_of({&rsa_signer(), &ec_signer()}));
  for (const auto* signer : {&rsa_signer(), &ec_signer()}) {
    const std::string token = signer->sign(alice_claims());
    REQUIRE(validator.validate(token, now).has_value());
    int rejected = 0;
    for (int i = 0; i < 1500; ++i) {
      const std::string mutated = mutate(token);
      if (mutated == token) continue;
      auto result = validator.validate(mutated, now);
      if (result.has_value()) FAIL("a mutated token validated: iteration " << i);
      CHECK(result.error().find(split(token).signature) == std::string::npos);
      ++rejected;
    }
    CHECK(rejected > 1400);
  }

  const std::string document = jwks_of({&rsa_signer(), &ec_signer()});
  for (int i = 0; i < 1000; ++i) {
    auto keys = jwks::parse(mutate(document));
    if (keys) CHECK((keys->size() >= 1 && keys->size() <= 2));
  }

  const std::string message = oauth_message("n,a=alice,", {"auth=Bearer " + rsa_signer().sign(alice_claims()), "x=y"});
  for (int i = 0; i < 2000; ++i) {
    auto token = parse_oauthbearer_initial_response(mutate(message));
    if (token) CHECK_FALSE(token->empty());
  }

  // Random bytes where each piece is expected.
  for (int i = 0; i < 500; ++i) {
    std::string junk(random() % 200, '\0');
    for (char& c : junk) c = static_cast<char>(random());
    CHECK_FALSE(validator.validate(junk, now).has_value());
    CHECK_FALSE(jwks::parse(junk).has_value());
    CHECK_FALSE(validator.validate(base64url_encode(junk) + "." + base64url_encode(junk) + ".", now).has_value());
  }
}

TEST_CASE("failures leave the thread's OpenSSL error queue clean", "[jwt]") {
  // A stale entry would be picked up by the next unrelated OpenSSL call on this thread (TLS).
  ERR_clear_error();
  const std::string ec = ec_signer().jwk_json();
  std::string off_curve = R"({"keys":[)" + ec.substr(0, ec.find(R"("y":")") + 5) + std::string(43, 'A') + R"("}]})";
  CHECK_FALSE(jwks::parse(off_curve).has_value());
  auto validator = validator_for(jwks_of({&rsa_signer(), &ec_signer()}));
  const auto parts = split(ec_signer().sign(alice_claims()));
  CHECK_FALSE(validator.validate(parts.header + "." + parts.payload + "." + std::string(86, 'A'), now).has_value());
  CHECK_FALSE(validator.validate(impostor_signer().sign(alice_claims()), now).has_value());
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("one validator serves many threads", "[jwt][threads]") {
  auto validator = validator_for(jwks_of({&rsa_signer(), &ec_signer()}));
  const std::string rsa_token = rsa_signer().sign(alice_claims());
  const std::string ec_token = ec_signer().sign(alice_claims());
  const std::string bad_token = impostor_signer().sign(alice_claims());
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!validator.validate(rsa_token, now) || !validator.validate(ec_token, now) ||
            validator.validate(bad_token, now))
          ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
}

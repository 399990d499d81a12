#include "gateway/security/plain.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "gateway/security/scram.h"

using namespace kgw::security;
using namespace std::string_literals;

TEST_CASE("PLAIN: a message without authzid", "[plain]") {
  const auto r = parse_plain_message("\0alice\0s3cret"s);
  REQUIRE(r);
  CHECK(r->authzid.empty());
  CHECK(r->username == "alice");
  CHECK(r->password == "s3cret");
}

TEST_CASE("PLAIN: authzid equal to the username is accepted", "[plain]") {
  const auto r = parse_plain_message("alice\0alice\0pw"s);
  REQUIRE(r);
  CHECK(r->authzid == "alice");
  CHECK(r->username == "alice");
  CHECK(r->password == "pw");
}

TEST_CASE("PLAIN: passwords keep every byte but NUL", "[plain]") {
  const auto r = parse_plain_message("\0jürgen\0 p,a=s:s w\tö rd \r\n"s);
  REQUIRE(r);
  CHECK(r->username == "jürgen");
  CHECK(r->password == " p,a=s:s w\tö rd \r\n");
  // No 255-octet cap: long tokens are used as PLAIN passwords in the wild.
  const std::string long_password(1000, 'x');
  const auto l = parse_plain_message("\0u\0"s + long_password);
  REQUIRE(l);
  CHECK(l->password == long_password);
}

TEST_CASE("PLAIN: malformed messages are rejected without echoing the password", "[plain]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {""s, "expected 3 tokens separated by NUL, got 1"},
      {"alice"s, "expected 3 tokens separated by NUL, got 1"},
      {"\0alice-hunter2"s, "expected 3 tokens separated by NUL, got 2"},
      {"\0alice\0hunter2\0"s, "expected 3 tokens separated by NUL, got 4"},
      {"\0alice\0hunter2\0more"s, "expected 3 tokens separated by NUL, got 4"},
      {"\0\0alice\0hunter2"s, "expected 3 tokens separated by NUL, got 4"},
      {"\0\0hunter2"s, "username not specified"},
      {"alice\0\0hunter2"s, "username not specified"},
      {"\0alice\0"s, "password not specified"},
      {"\0\0"s, "username not specified"},
      {"admin\0alice\0hunter2"s, "Client requested an authorization id that is different from username"},
      {"Alice\0alice\0hunter2"s, "Client requested an authorization id that is different from username"},
      {"\0al\xffice\0hunter2"s, "not valid UTF-8"},
      {"\xc0\xaf\0alice\0hunter2"s, "not valid UTF-8"},
      {"\0alice\0hunter2\xed\xa0\x80"s, "not valid UTF-8"},
  };
  for (const auto& [msg, expected] : cases) {
    CAPTURE(msg);
    const auto r = parse_plain_message(msg);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains(expected));
    CHECK(r.error().find("hunter2") == std::string::npos);
  }
}

TEST_CASE("PLAIN: make_plain_message builds what parse_plain_message reads", "[plain]") {
  const std::string msg = make_plain_message("svc-gateway", "pa ss\x01word");
  CHECK(msg == "\0svc-gateway\0pa ss\x01word"s);
  const auto r = parse_plain_message(msg);
  REQUIRE(r);
  CHECK(r->authzid.empty());
  CHECK(r->username == "svc-gateway");
  CHECK(r->password == "pa ss\x01word");
}

TEST_CASE("PLAIN login checked against a stored SCRAM credential", "[plain][scram]") {
  const auto stored = parse_stored_form(to_stored_form(make_scram_credential(scram_mechanism::sha512, "s3cret")));
  REQUIRE(stored);
  const auto good = parse_plain_message(make_plain_message("alice", "s3cret"));
  REQUIRE(good);
  CHECK(verify_password(*stored, good->password));
  const auto bad = parse_plain_message(make_plain_message("alice", "s3cret!"));
  REQUIRE(bad);
  CHECK_FALSE(verify_password(*stored, bad->password));
}

TEST_CASE("UTF-8 validation follows RFC 3629", "[plain]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii \x01\x7f"));
  CHECK(is_valid_utf8("\xc2\x80"));          // U+0080, smallest 2-byte
  CHECK(is_valid_utf8("\xe2\x82\xac"));      // U+20AC
  CHECK(is_valid_utf8("\xef\xbf\xbf"));      // U+FFFF
  CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));  // U+1F600
  CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
  CHECK(is_valid_utf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates

  CHECK_FALSE(is_valid_utf8("\x80"));              // lone continuation
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xc1\xbf"));          // overlong
  CHECK_FALSE(is_valid_utf8("\xe0\x9f\xbf"));      // overlong 3-byte
  CHECK_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));  // overlong 4-byte
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // U+110000
  CHECK_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  CHECK_FALSE(is_valid_utf8("\xe2\x82x"));         // bad continuation
  CHECK_FALSE(is_valid_utf8("ok\xf0\x9f\x98"));    // truncated at the end
}

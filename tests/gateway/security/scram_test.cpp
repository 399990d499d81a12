#include "gateway/security/scram.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace kgw::security;
using st = scram_server::state;

namespace {

// Base64 through OpenSSL, independent of the implementation under test.
std::string b64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string unb64(std::string_view text) {
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  std::size_t len = static_cast<std::size_t>(n);
  if (text.ends_with("==")) len -= 2;
  else if (text.ends_with("=")) len -= 1;
  out.resize(len);
  return out;
}

const EVP_MD* md_of(scram_mechanism m) { return m == scram_mechanism::sha256 ? EVP_sha256() : EVP_sha512(); }

std::string ref_hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
               data.size(), out, &len) != nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string ref_hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) == 1);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string attribute(std::string_view message, char name) {
  std::size_t start = 0;
  while (start <= message.size()) {
    auto comma = message.find(',', start);
    auto attr = message.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (attr.size() >= 2 && attr[0] == name && attr[1] == '=') return std::string(attr.substr(2));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  FAIL("attribute " << name << " missing in " << message);
  return {};
}

// An independent SCRAM client computation (straight from RFC 5802 section 3) so tests can build
// client-final messages the class under test never produces: other GS2 headers, extensions.
std::string reference_client_final(scram_mechanism m, std::string_view password, std::string_view client_first_bare,
                                   std::string_view server_first, std::string_view without_proof) {
  const EVP_MD* md = md_of(m);
  const std::string salt = unb64(attribute(server_first, 's'));
  const int iterations = std::stoi(attribute(server_first, 'i'));
  std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  REQUIRE(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                            reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                            iterations, md, static_cast<int>(salted.size()),
                            reinterpret_cast<unsigned char*>(salted.data())) == 1);
  const std::string client_key = ref_hmac(md, salted, "Client Key");
  const std::string auth = std::string(client_first_bare) + "," + std::string(server_first) + "," + std::string(without_proof);
  std::string proof = ref_hmac(md, ref_hash(md, client_key), auth);
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
  return std::string(without_proof) + ",p=" + b64(proof);
}

struct user_db {
  std::map<std::string, scram_credential, std::less<>> users;
  scram_server::lookup_fn lookup() {
    return [this](std::string_view name) -> const scram_credential* {
      auto it = users.find(name);
      return it == users.end() ? nullptr : &it->second;
    };
  }
};

std::string generic_failure(scram_mechanism m) {
  return "Authentication failed during authentication due to invalid credentials with SASL mechanism " +
         std::string(scram_mechanism_name(m));
}

const std::string rfc_salt_b64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
const std::string rfc_client_nonce = "rOprNGfwEbeRWgbNEkqO";
const std::string rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

}  // namespace

TEST_CASE("SCRAM mechanism names", "[scram]") {
  CHECK(scram_mechanism_from_name("SCRAM-SHA-256") == scram_mechanism::sha256);
  CHECK(scram_mechanism_from_name("SCRAM-SHA-512") == scram_mechanism::sha512);
  CHECK_FALSE(scram_mechanism_from_name("scram-sha-256"));
  CHECK_FALSE(scram_mechanism_from_name("SCRAM-SHA-1"));
  CHECK_FALSE(scram_mechanism_from_name("SCRAM-SHA-256-PLUS"));
  CHECK_FALSE(scram_mechanism_from_name(""));
  CHECK(scram_mechanism_name(scram_mechanism::sha256) == "SCRAM-SHA-256");
  CHECK(scram_mechanism_name(scram_mechanism::sha512) == "SCRAM-SHA-512");
  CHECK(scram_hash_size(scram_mechanism::sha256) == 32);
  CHECK(scram_hash_size(scram_mechanism::sha512) == 64);
}

TEST_CASE("SCRAM-SHA-256 reproduces the RFC 7677 example exchange", "[scram]") {
  const std::string salt = unb64(rfc_salt_b64);
  REQUIRE(salt.size() == 16);
  user_db db;
  db.users.emplace("user", make_scram_credential(scram_mechanism::sha256, "pencil", 4096, salt));
  scram_client client(scram_mechanism::sha256, "user", "pencil", rfc_client_nonce);
  scram_server server(scram_mechanism::sha256, db.lookup(), rfc_server_nonce);

  const std::string client_first = client.first_message();
  CHECK(client_first == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const auto s1 = server.on_message(client_first);
  REQUIRE(s1.st == st::need_more);
  CHECK(s1.reply == "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  CHECK(server.username().empty());

  const auto client_final = client.final_message(s1.reply);
  REQUIRE(client_final);
  CHECK(*client_final ==
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  const auto s2 = server.on_message(*client_final);
  REQUIRE(s2.st == st::succeeded);
  // RFC 7677 section 3 prints this server signature.
  CHECK(s2.reply == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  CHECK(s2.error.empty());
  CHECK(server.username() == "user");
  CHECK(client.verify_server_final(s2.reply).has_value());
}

TEST_CASE("stored keys match values computed independently (Python hashlib)", "[scram]") {
  // python3: sp = pbkdf2_hmac(h, b"pencil", salt, 4096); ck = hmac(sp, b"Client Key"); H(ck); hmac(sp, b"Server Key")
  const std::string salt = unb64(rfc_salt_b64);
  const auto c256 = make_scram_credential(scram_mechanism::sha256, "pencil", 4096, salt);
  CHECK(b64(c256.stored_key) == "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
  CHECK(b64(c256.server_key) == "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
  CHECK(to_stored_form(c256) ==
        "SCRAM-SHA-256:iterations=4096:salt=W22ZaJ0SNY7soEsUEjb6gQ==:"
        "stored_key=WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:server_key=wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
  const auto c512 = make_scram_credential(scram_mechanism::sha512, "pencil", 4096, salt);
  CHECK(b64(c512.stored_key) ==
        "6AAub3065EYRmyFpM2RNwqK+eGnrkYuEWbXn19LsEmBqzu8QaCXNc1FwpnX9NhH2hK/60dzj9DoO5DvVkOHbvg==");
  CHECK(b64(c512.server_key) ==
        "jZHbYjC1aHh0/hKbxyBuGFjDrgjgKTT1esA7awWiKcRZ0o/0b1yWEebBeSVkkCFewf91nLDfKF24mvD5nmE6rA==");
}

TEST_CASE("SCRAM-SHA-512 matches a known-answer exchange computed with Python", "[scram]") {
  // Same inputs as RFC 7677's example, hash swapped for SHA-512 (hashlib + hmac reference).
  user_db db;
  db.users.emplace("user", make_scram_credential(scram_mechanism::sha512, "pencil", 4096, unb64(rfc_salt_b64)));
  scram_client client(scram_mechanism::sha512, "user", "pencil", rfc_client_nonce);
  scram_server server(scram_mechanism::sha512, db.lookup(), rfc_server_nonce);
  const auto s1 = server.on_message(client.first_message());
  REQUIRE(s1.st == st::need_more);
  const auto client_final = client.final_message(s1.reply);
  REQUIRE(client_final);
  CHECK(*client_final ==
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==");
  const auto s2 = server.on_message(*client_final);
  REQUIRE(s2.st == st::succeeded);
  CHECK(s2.reply ==
        "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==");
  CHECK(client.verify_server_final(s2.reply).has_value());
}

TEST_CASE("client and server round trip with random nonces and salts", "[scram]") {
  const auto mech = GENERATE(scram_mechanism::sha256, scram_mechanism::sha512);
  user_db db;
  db.users.emplace("alice", make_scram_credential(mech, "s3cret-Pässword"));
  scram_client client(mech, "alice", "s3cret-Pässword");
  scram_server server(mech, db.lookup());
  const std::string first = client.first_message();
  CHECK(first.starts_with("n,,n=alice,r="));
  const auto s1 = server.on_message(first);
  REQUIRE(s1.st == st::need_more);
  // Server nonce extends the client's; salt is the stored one.
  CHECK(attribute(s1.reply, 'r').starts_with(attribute(first, 'r')));
  CHECK(attribute(s1.reply, 'r').size() > attribute(first, 'r').size());
  CHECK(unb64(attribute(s1.reply, 's')) == db.users.at("alice").salt);
  CHECK(attribute(s1.reply, 'i') == "4096");
  const auto f = client.final_message(s1.reply);
  REQUIRE(f);
  const auto s2 = server.on_message(*f);
  REQUIRE(s2.st == st::succeeded);
  CHECK(server.username() == "alice");
  CHECK(client.verify_server_final(s2.reply).has_value());

  // Two clients never pick the same nonce.
  scram_client other(mech, "alice", "x");
  CHECK(attribute(other.first_message(), 'r') != attribute(first, 'r'));
}

TEST_CASE("iteration count above the minimum is carried through", "[scram]") {
  user_db db;
  db.users.emplace("bob", make_scram_credential(scram_mechanism::sha256, "pw", 8192));
  scram_client client(scram_mechanism::sha256, "bob", "pw");
  scram_server server(scram_mechanism::sha256, db.lookup());
  const auto s1 = server.on_message(client.first_message());
  REQUIRE(s1.st == st::need_more);
  CHECK(attribute(s1.reply, 'i') == "8192");
  const auto f = client.final_message(s1.reply);
  REQUIRE(f);
  CHECK(server.on_message(*f).st == st::succeeded);
}

TEST_CASE("usernames with ',' and '=' are escaped on the wire and decoded by the server", "[scram]") {
  const auto mech = scram_mechanism::sha256;
  user_db db;
  db.users.emplace("CN=app,O=acme", make_scram_credential(mech, "pw"));
  scram_client client(mech, "CN=app,O=acme", "pw", "abc");
  scram_server server(mech, db.lookup());
  const std::string first = client.first_message();
  CHECK(first == "n,,n=CN=3Dapp=2CO=3Dacme,r=abc");
  const auto s1 = server.on_message(first);
  REQUIRE(s1.st == st::need_more);
  const auto f = client.final_message(s1.reply);
  REQUIRE(f);
  REQUIRE(server.on_message(*f).st == st::succeeded);
  CHECK(server.username() == "CN=app,O=acme");
}

TEST_CASE("wrong password and unknown user fail alike", "[scram]") {
  const auto mech = GENERATE(scram_mechanism::sha256, scram_mechanism::sha512);
  user_db db;
  db.users.emplace("alice", make_scram_credential(mech, "right"));

  auto attempt = [&](const std::string& user, const std::string& password) {
    scram_client client(mech, user, password);
    scram_server server(mech, db.lookup());
    const auto s1 = server.on_message(client.first_message());
    REQUIRE(s1.st == st::need_more);  // an unknown user is not turned away at the first step
    CHECK(attribute(s1.reply, 'i') == "4096");
    const auto f = client.final_message(s1.reply);
    REQUIRE(f);
    auto s2 = server.on_message(*f);
    CHECK(server.username().empty());
    return std::pair{s1.reply, s2};
  };

  const auto [first_wrong, wrong_password] = attempt("alice", "wrong");
  CHECK(wrong_password.st == st::failed);
  CHECK(wrong_password.reply.empty());
  CHECK(wrong_password.error == generic_failure(mech));

  const auto [first_unknown, unknown_user] = attempt("mallory", "right");
  CHECK(unknown_user.st == st::failed);
  CHECK(unknown_user.reply.empty());
  CHECK(unknown_user.error == wrong_password.error);

  // The decoy salt is stable per user (a fresh one per attempt would give the game away), differs
  // between users, and has the length of a real one.
  const auto [first_unknown_again, ignored] = attempt("mallory", "other");
  CHECK(attribute(first_unknown, 's') == attribute(first_unknown_again, 's'));
  CHECK(unb64(attribute(first_unknown, 's')).size() == 32);
  const auto [first_other_unknown, ignored2] = attempt("trudy", "x");
  CHECK(attribute(first_unknown, 's') != attribute(first_other_unknown, 's'));
}

TEST_CASE("stored credentials the server cannot use fail like a wrong password", "[scram]") {
  user_db db;
  // SHA-256 credential offered to a SHA-512 exchange.
  db.users.emplace("sha256-only", make_scram_credential(scram_mechanism::sha256, "pw"));
  // Iterations below Kafka's minimum, built by hand.
  auto weak = make_scram_credential(scram_mechanism::sha512, "pw");
  weak.iterations = 1000;
  db.users.emplace("weak", weak);
  for (const char* user : {"sha256-only", "weak"}) {
    scram_client client(scram_mechanism::sha512, user, "pw");
    scram_server server(scram_mechanism::sha512, db.lookup());
    const auto s1 = server.on_message(client.first_message());
    REQUIRE(s1.st == st::need_more);
    const auto f = client.final_message(s1.reply);
    REQUIRE(f);
    const auto s2 = server.on_message(*f);
    CHECK(s2.st == st::failed);
    CHECK(s2.error == generic_failure(scram_mechanism::sha512));
  }
}

TEST_CASE("GS2 headers: authzid and 'y' are accepted and must be echoed in c=", "[scram]") {
  const auto mech = scram_mechanism::sha256;
  user_db db;
  db.users.emplace("user", make_scram_credential(mech, "pencil"));
  for (std::string header : {"n,a=user,", "y,,", "n,,"}) {
    SECTION(header) {
      const std::string bare = "n=user,r=clientnonce";
      scram_server server(mech, db.lookup(), "servernonce");
      const auto s1 = server.on_message(header + bare);
      REQUIRE(s1.st == st::need_more);
      const std::string final_ok =
          reference_client_final(mech, "pencil", bare, s1.reply, "c=" + b64(header) + ",r=clientnonceservernonce");
      const auto s2 = server.on_message(final_ok);
      REQUIRE(s2.st == st::succeeded);
      CHECK(server.username() == "user");

      // A correct proof over a c= that names another header is still refused.
      const std::string other = header == "y,," ? "n,," : "y,,";
      scram_server server2(mech, db.lookup(), "servernonce");
      const auto t1 = server2.on_message(header + bare);
      REQUIRE(t1.st == st::need_more);
      const auto t2 = server2.on_message(
          reference_client_final(mech, "pencil", bare, t1.reply, "c=" + b64(other) + ",r=clientnonceservernonce"));
      CHECK(t2.st == st::failed);
      CHECK_THAT(t2.error, Catch::Contains("channel binding does not match"));
    }
  }
}

TEST_CASE("client-final extensions are ignored but covered by the proof", "[scram]") {
  const auto mech = scram_mechanism::sha512;
  user_db db;
  db.users.emplace("user", make_scram_credential(mech, "pencil"));
  scram_server server(mech, db.lookup(), "srv");
  const auto s1 = server.on_message("n,,n=user,r=cli");
  REQUIRE(s1.st == st::need_more);
  const auto s2 =
      server.on_message(reference_client_final(mech, "pencil", "n=user,r=cli", s1.reply, "c=biws,r=clisrv,x=extra"));
  CHECK(s2.st == st::succeeded);
}

TEST_CASE("client-first extensions: tokenauth refused, unknown ones ignored", "[scram]") {
  user_db db;
  db.users.emplace("user", make_scram_credential(scram_mechanism::sha256, "pw"));
  auto first = [&](const std::string& msg) { return scram_server(scram_mechanism::sha256, db.lookup()).on_message(msg); };

  for (const char* msg : {"n,,n=user,r=abc,tokenauth=true", "n,,n=user,r=abc,tokenauth=TRUE",
                          "n,,n=user,r=abc,foo=bar,tokenauth=true"}) {
    const auto s = first(msg);
    CHECK(s.st == st::failed);
    CHECK(s.reply.empty());
    CHECK_THAT(s.error, Catch::Contains("tokenauth") && Catch::Contains("not supported"));
  }
  // Kafka treats anything but "true" as an ordinary login.
  CHECK(first("n,,n=user,r=abc,tokenauth=false").st == st::need_more);
  CHECK(first("n,,n=user,r=abc,foo=bar").st == st::need_more);
  CHECK(first("n,,n=user,r=abc,x=1,y=2").st == st::need_more);
}

TEST_CASE("malformed client-first messages fail cleanly", "[scram]") {
  user_db db;
  db.users.emplace("user", make_scram_credential(scram_mechanism::sha256, "pw"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "GS2 header"},
      {"n", "GS2 header"},
      {"x,,n=user,r=abc", "GS2 header"},
      {"N,,n=user,r=abc", "GS2 header"},
      {"n,,", "missing username"},
      {"n,,n=user", "missing nonce"},
      {"n,,n=user,", "missing nonce"},
      {"n,,n=user,,r=abc", "missing nonce"},
      {"n,,r=abc,n=user", "missing username"},
      {"n,,n=,r=abc", "empty name"},
      {"n,,n=user,r=", "nonce must be printable"},
      {"n,,n=user,r=ab\x01", "nonce must be printable"},
      {"n,,n=user,r=ab\x7f", "nonce must be printable"},
      {"n,,n=us=er,r=abc", "escape"},
      {"n,,n=us=2cer,r=abc", "escape"},
      {"n,,n=user=2,r=abc", "escape"},
      {"n,,n=user=,r=abc", "escape"},
      {std::string("n,,n=us\0er,r=abc", 16), "NUL"},
      {"n,,n=\xff\xfe,r=abc", "UTF-8"},
      {"n,,n=user,r=abc,", "malformed extension"},
      {"n,,n=user,r=abc,junk", "malformed extension"},
      {"n,,n=user,r=abc,=v", "malformed extension"},
      {"n,,n=user,r=abc,k=", "malformed extension"},
      {"n,,m=ext,n=user,r=abc", "mandatory extension"},
      {"n,n=user,r=abc", "a=<name>"},
      {"n,a=,n=user,r=abc", "authorization id"},
      {"n,a=us=zz,n=user,r=abc", "authorization id"},
      {"p=tls-unique,,n=user,r=abc", "channel binding (p=) is not supported"},
      {"n,a=admin,n=user,r=abc", "authorization id that is different from username"},
  };
  for (const auto& [msg, expected] : cases) {
    CAPTURE(msg);
    scram_server server(scram_mechanism::sha256, db.lookup());
    const auto s = server.on_message(msg);
    CHECK(s.st == st::failed);
    CHECK(s.reply.empty());
    CHECK_THAT(s.error, Catch::Contains(expected));
    // The exchange is over: even a valid message is refused now.
    const auto again = server.on_message("n,,n=user,r=abc");
    CHECK(again.st == st::failed);
    CHECK_THAT(again.error, Catch::Contains("already finished"));
  }
}

TEST_CASE("tampered or malformed client-final messages fail cleanly", "[scram]") {
  const auto mech = scram_mechanism::sha256;
  user_db db;
  db.users.emplace("user", make_scram_credential(mech, "pencil"));

  // Runs a valid first step and returns the server plus the genuine client-final.
  auto setup = [&](scram_server& server) {
    scram_client client(mech, "user", "pencil", "cnonce");
    const auto s1 = server.on_message(client.first_message());
    REQUIRE(s1.st == st::need_more);
    auto f = client.final_message(s1.reply);
    REQUIRE(f);
    return *f;
  };
  const std::string nonce = "cnoncesnonce";
  const std::string proof_ok = [&] {
    scram_server server(mech, db.lookup(), "snonce");
    return attribute(setup(server), 'p');
  }();
  std::string flipped = unb64(proof_ok);
  flipped[0] = static_cast<char>(flipped[0] ^ 1);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"c=biws,r=" + nonce + ",p=" + b64(flipped), generic_failure(mech)},
      {"c=biws,r=" + nonce + "x,p=" + proof_ok, "nonce does not match"},
      {"c=biws,r=cnonce,p=" + proof_ok, "nonce does not match"},
      {"c=eSws,r=" + nonce + ",p=" + proof_ok, "channel binding does not match"},  // "y,,"
      {"c=biw,r=" + nonce + ",p=" + proof_ok, "channel binding is not valid base64"},
      {"c=biws,r=" + nonce + ",p=!!!!", "proof is not valid base64"},
      {"c=biws,r=" + nonce + ",p=" + proof_ok.substr(1), "proof is not valid base64"},
      {"c=biws,r=" + nonce + ",p=" + b64("short"), "proof has the wrong length"},
      {"c=biws,r=" + nonce, "expected c=, r= and p="},
      {"c=biws", "expected c=, r= and p="},
      {"", "expected c=, r= and p="},
      {"r=" + nonce + ",c=biws,p=" + proof_ok, "missing channel binding"},
      {"c=biws,p=" + proof_ok + ",r=" + nonce, "missing nonce"},
      {"c=biws,r=" + nonce + ",p=" + proof_ok + ",x=y", "missing proof"},
      {"c=biws,r=" + nonce + ",,p=" + proof_ok, "malformed extension"},
  };
  for (const auto& [msg, expected] : cases) {
    CAPTURE(msg);
    scram_server server(mech, db.lookup(), "snonce");
    setup(server);
    const auto s = server.on_message(msg);
    CHECK(s.st == st::failed);
    CHECK(s.reply.empty());
    CHECK_THAT(s.error, Catch::Contains(expected));
    CHECK(server.username().empty());
    CHECK(server.on_message("c=biws,r=" + nonce + ",p=" + proof_ok).st == st::failed);
  }

  // Control: the untampered final succeeds on the same setup.
  scram_server server(mech, db.lookup(), "snonce");
  CHECK(server.on_message(setup(server)).st == st::succeeded);
}

TEST_CASE("the server refuses to be reused after success", "[scram]") {
  user_db db;
  db.users.emplace("user", make_scram_credential(scram_mechanism::sha512, "pw"));
  scram_client client(scram_mechanism::sha512, "user", "pw");
  scram_server server(scram_mechanism::sha512, db.lookup());
  const std::string first = client.first_message();
  const auto s1 = server.on_message(first);
  const auto f = client.final_message(s1.reply);
  REQUIRE(f);
  const auto ok = server.on_message(*f);
  REQUIRE(ok.st == st::succeeded);
  for (const std::string& msg : {first, *f}) {
    const auto s = server.on_message(msg);
    CHECK(s.st == st::failed);
    CHECK(s.reply.empty());
    CHECK_THAT(s.error, Catch::Contains("already finished"));
  }
  CHECK(server.username() == "user");  // still the user of the finished exchange
}

TEST_CASE("nonces injected for tests are validated", "[scram]") {
  user_db db;
  CHECK_THROWS_AS(scram_server(scram_mechanism::sha256, db.lookup(), ""), std::invalid_argument);
  CHECK_THROWS_AS(scram_server(scram_mechanism::sha256, db.lookup(), "a,b"), std::invalid_argument);
  CHECK_THROWS_AS(scram_client(scram_mechanism::sha256, "u", "p", "a b"), std::invalid_argument);
  CHECK_NOTHROW(scram_client(scram_mechanism::sha256, "u", "p", "a%b$c"));
}

TEST_CASE("client rejects bad server-first messages", "[scram]") {
  auto final_for = [](const std::string& server_first) {
    scram_client client(scram_mechanism::sha256, "user", "pencil", "cn");
    client.first_message();
    return client.final_message(server_first);
  };
  const std::string salt = "s=QUJDRA==";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"r=other," + salt + ",i=4096", "does not extend"},
      {"r=cn," + salt + ",i=4096", "does not extend"},
      {"r=xcnsn," + salt + ",i=4096", "does not extend"},
      {"r=cnsn\x01," + salt + ",i=4096", "does not extend"},
      {"r=cnsn," + salt + ",i=4095", "outside 4096..16384"},
      {"r=cnsn," + salt + ",i=16385", "outside 4096..16384"},
      {"r=cnsn," + salt + ",i=100000000", "outside 4096..16384"},
      {"r=cnsn," + salt + ",i=4294967295", "outside 4096..16384"},
      {"r=cnsn," + salt + ",i=4294967296", "iteration count 4294967296 is outside 4096..16384"},
      {"r=cnsn," + salt + ",i=99999999999999999999", "outside 4096..16384"},
      {"r=cnsn," + salt + ",i=" + std::string(5000, '9'), "outside 4096..16384"},
      {"r=cnsn," + salt + ",i=-4096", "not a number"},
      {"r=cnsn," + salt + ",i=+4096", "not a number"},
      {"r=cnsn," + salt + ",i=4096x", "not a number"},
      {"r=cnsn," + salt + ",i=", "not a number"},
      {"r=cnsn,s=QUJDRA=,i=4096", "salt is not valid base64"},
      {"r=cnsn,s=QUJDRA=x,i=4096", "salt is not valid base64"},
      {"r=cnsn,s=,i=4096", "salt is empty"},
      {"r=cnsn,i=4096", "expected r=, s= and i="},
      {"r=cnsn", "expected r=, s= and i="},
      {"", "expected r=, s= and i="},
      {salt + ",r=cnsn,i=4096", "missing nonce"},
      {"r=cnsn,i=4096," + salt, "missing salt"},
      {"r=cnsn," + salt + ",x=4096", "missing iteration count"},
      {"r=cnsn," + salt + ",i=4096,", "malformed extension"},
      {"m=ext,r=cnsn," + salt + ",i=4096", "mandatory extension"},
      {"e=unknown-user", "server rejected authentication: unknown-user"},
  };
  for (const auto& [msg, expected] : cases) {
    CAPTURE(msg);
    const auto r = final_for(msg);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains(expected));
  }
  // Extensions after i= are allowed.
  CHECK(final_for("r=cnsn," + salt + ",i=4096,x=y").has_value());
}

TEST_CASE("client enforces call order and checks the server signature", "[scram]") {
  const auto mech = scram_mechanism::sha256;
  user_db db;
  db.users.emplace("user", make_scram_credential(mech, "pencil"));

  scram_client early(mech, "user", "pencil");
  CHECK_FALSE(early.final_message("r=x,s=QUJDRA==,i=4096").has_value());
  CHECK_FALSE(early.verify_server_final("v=AAAA").has_value());

  // Returns a client whose final message the server accepted, plus the server's final.
  auto run = [&](scram_client& client) {
    scram_server server(mech, db.lookup());
    const auto s1 = server.on_message(client.first_message());
    auto f = client.final_message(s1.reply);
    REQUIRE(f);
    const auto s2 = server.on_message(*f);
    REQUIRE(s2.st == st::succeeded);
    return s2.reply;
  };

  SECTION("a correct signature verifies once") {
    scram_client client(mech, "user", "pencil");
    const auto server_final = run(client);
    CHECK(client.verify_server_final(server_final).has_value());
    CHECK_FALSE(client.verify_server_final(server_final).has_value());  // exchange over
  }
  SECTION("a signature from an exchange with other nonces is refused") {
    scram_client a(mech, "user", "pencil");
    scram_client b(mech, "user", "pencil");
    const auto final_a = run(a);
    run(b);
    const auto r = b.verify_server_final(final_a);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains("does not match"));
  }
  SECTION("server errors and malformed finals") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"e=invalid-proof", "server rejected authentication: invalid-proof"},
        {"v=!!!!", "not valid base64"},
        {"v=", "does not match"},
        {"x=abc", "missing verifier"},
        {"", "missing verifier"},
    };
    for (const auto& [msg, expected] : cases) {
      CAPTURE(msg);
      scram_client client(mech, "user", "pencil");
      run(client);
      const auto r = client.verify_server_final(msg);
      REQUIRE_FALSE(r.has_value());
      CHECK_THAT(r.error(), Catch::Contains(expected));
    }
  }
  SECTION("a failed final_message ends the exchange") {
    scram_client client(mech, "user", "pencil", "cn");
    client.first_message();
    CHECK_FALSE(client.final_message("r=cn,s=QUJDRA==,i=4096").has_value());
    CHECK_FALSE(client.final_message("r=cnsn,s=QUJDRA==,i=4096").has_value());
  }
}

TEST_CASE("stored form round trips", "[scram][stored]") {
  const auto mech = GENERATE(scram_mechanism::sha256, scram_mechanism::sha512);
  const auto cred = make_scram_credential(mech, "hunter2", 5000);
  const std::string text = to_stored_form(cred);
  CHECK(text.starts_with(std::string(scram_mechanism_name(mech)) + ":iterations=5000:salt="));
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find("hunter2") == std::string::npos);
  const auto parsed = parse_stored_form(text);
  REQUIRE(parsed);
  CHECK(parsed->mechanism == mech);
  CHECK(parsed->iterations == 5000);
  CHECK(parsed->salt == cred.salt);
  CHECK(parsed->stored_key == cred.stored_key);
  CHECK(parsed->server_key == cred.server_key);
  CHECK(to_stored_form(*parsed) == text);
  CHECK(verify_password(*parsed, "hunter2"));
}

TEST_CASE("stored form accepts its fields in any order", "[scram][stored]") {
  const auto cred = make_scram_credential(scram_mechanism::sha256, "pencil", 4096, unb64(rfc_salt_b64));
  const std::string text = "SCRAM-SHA-256:server_key=" + b64(cred.server_key) + ":salt=" + rfc_salt_b64 +
                           ":stored_key=" + b64(cred.stored_key) + ":iterations=4096";
  const auto parsed = parse_stored_form(text);
  REQUIRE(parsed);
  CHECK(parsed->salt == cred.salt);
  CHECK(verify_password(*parsed, "pencil"));
}

TEST_CASE("malformed stored forms are rejected with a clear message", "[scram][stored]") {
  const std::string k32 = b64(std::string(32, 'k'));
  const std::string k64 = b64(std::string(64, 'k'));
  const std::string salt = "salt=QUJDRA==";
  auto form = [&](std::string mech, std::string iterations, std::string salt_field, std::string key) {
    return mech + ":iterations=" + iterations + ":" + salt_field + ":stored_key=" + key + ":server_key=" + key;
  };
  REQUIRE(parse_stored_form(form("SCRAM-SHA-256", "4096", salt, k32)));  // the baseline is valid
  REQUIRE(parse_stored_form(form("SCRAM-SHA-512", "16384", "salt=QQ==", k64)));
  REQUIRE(parse_stored_form(form("SCRAM-SHA-256", "4096", "salt=QUI=", k32)));

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "must start with SCRAM-SHA-256: or SCRAM-SHA-512:"},
      {form("SCRAM-SHA-1", "4096", salt, k32), "must start with"},
      {form("scram-sha-256", "4096", salt, k32), "must start with"},
      {"SCRAM-SHA-256", "missing iterations"},
      {"SCRAM-SHA-256:", "field without '='"},
      {form("SCRAM-SHA-256", "4096", salt, k32) + ":", "field without '='"},
      {"SCRAM-SHA-256:iterations=4096:" + salt + ":stored_key=" + k32, "missing server_key"},
      {"SCRAM-SHA-256:" + salt + ":stored_key=" + k32 + ":server_key=" + k32, "missing iterations"},
      {form("SCRAM-SHA-256", "4096", salt, k32) + ":" + salt, "salt given twice"},
      {form("SCRAM-SHA-256", "4096", salt, k32) + ":pepper=abc", "unknown field 'pepper'"},
      {form("SCRAM-SHA-256", "4095", salt, k32), "iterations must be 4096..16384, got 4095"},
      {form("SCRAM-SHA-256", "16385", salt, k32), "iterations must be 4096..16384, got 16385"},
      {form("SCRAM-SHA-256", "0", salt, k32), "iterations must be"},
      {form("SCRAM-SHA-256", "", salt, k32), "iterations is not a number"},
      {form("SCRAM-SHA-256", "abc", salt, k32), "iterations is not a number"},
      {form("SCRAM-SHA-256", "-4096", salt, k32), "iterations is not a number"},
      {form("SCRAM-SHA-256", "99999999999", salt, k32), "iterations must be 4096..16384, got 99999999999"},
      {form("SCRAM-SHA-256", "4096.0", salt, k32), "iterations is not a number"},
      {form("SCRAM-SHA-256", "4096", "salt=QUJDRA=", k32), "salt is not valid base64"},
      {form("SCRAM-SHA-256", "4096", "salt=QR==", k32), "salt is not valid base64"},  // non-zero spare bits
      {form("SCRAM-SHA-256", "4096", "salt=QUJ=", k32), "salt is not valid base64"},
      {form("SCRAM-SHA-256", "4096", "salt==QUJ", k32), "salt is not valid base64"},
      {form("SCRAM-SHA-256", "4096", "salt=QU=J", k32), "salt is not valid base64"},
      {form("SCRAM-SHA-256", "4096", "salt=QUJD-A==", k32), "salt is not valid base64"},
      {form("SCRAM-SHA-256", "4096", "salt=", k32), "salt is empty"},
      {form("SCRAM-SHA-256", "4096", salt, "@@@@"), "stored_key is not valid base64"},
      {form("SCRAM-SHA-512", "4096", salt, k32), "must be 64 bytes for SCRAM-SHA-512"},
      {form("SCRAM-SHA-256", "4096", salt, k64), "must be 32 bytes for SCRAM-SHA-256"},
      {form("SCRAM-SHA-256", "4096", salt, k32) + "\n", "whitespace"},
      {" " + form("SCRAM-SHA-256", "4096", salt, k32), "whitespace"},
  };
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    const auto r = parse_stored_form(text);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::StartsWith("invalid SCRAM credential: ") && Catch::Contains(expected));
    // Key material never shows up in the message.
    CHECK(r.error().find(k32) == std::string::npos);
    CHECK(r.error().find(k64) == std::string::npos);
  }
  // A field with its '=' missing must not echo the value either.
  const auto r = parse_stored_form("SCRAM-SHA-256:iterations=4096:" + salt + ":stored_key" + k32 + ":server_key=" + k32);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find(k32) == std::string::npos);
}

TEST_CASE("verify_password checks a password against a stored credential", "[scram][plain]") {
  const auto mech = GENERATE(scram_mechanism::sha256, scram_mechanism::sha512);
  const auto cred = make_scram_credential(mech, "correct horse");
  CHECK(verify_password(cred, "correct horse"));
  CHECK_FALSE(verify_password(cred, "correct hors"));
  CHECK_FALSE(verify_password(cred, "correct horse "));
  CHECK_FALSE(verify_password(cred, "Correct horse"));
  CHECK_FALSE(verify_password(cred, ""));

  auto corrupted = cred;
  corrupted.stored_key[5] = static_cast<char>(corrupted.stored_key[5] ^ 0x20);
  CHECK_FALSE(verify_password(corrupted, "correct horse"));
  auto short_key = cred;
  short_key.stored_key.pop_back();
  CHECK_FALSE(verify_password(short_key, "correct horse"));
  auto weak = cred;
  weak.iterations = 1;
  CHECK_FALSE(verify_password(weak, "correct horse"));
  auto other_mech = cred;
  other_mech.mechanism = mech == scram_mechanism::sha256 ? scram_mechanism::sha512 : scram_mechanism::sha256;
  CHECK_FALSE(verify_password(other_mech, "correct horse"));
}

TEST_CASE("make_scram_credential salts randomly and validates its inputs", "[scram]") {
  const auto a = make_scram_credential(scram_mechanism::sha512, "pw");
  const auto b = make_scram_credential(scram_mechanism::sha512, "pw");
  CHECK(a.iterations == 4096);
  CHECK(a.salt.size() == 32);
  CHECK(a.salt != b.salt);
  CHECK(a.stored_key != b.stored_key);
  CHECK(a.stored_key.size() == 64);
  CHECK(a.server_key.size() == 64);
  CHECK(a.stored_key != a.server_key);

  const auto c = make_scram_credential(scram_mechanism::sha512, "pw", 4096, a.salt);
  CHECK(c.stored_key == a.stored_key);
  CHECK(c.server_key == a.server_key);

  CHECK_THROWS_AS(make_scram_credential(scram_mechanism::sha256, "pw", 4095), std::invalid_argument);
  CHECK_THROWS_AS(make_scram_credential(scram_mechanism::sha256, "pw", 16385), std::invalid_argument);
  CHECK_THROWS_AS(make_scram_credential(scram_mechanism::sha256, "pw", 4096, ""), std::invalid_argument);
}

TEST_CASE("decoy credentials are stable per user and match no password", "[scram][plain]") {
  const auto mech = GENERATE(scram_mechanism::sha256, scram_mechanism::sha512);
  const auto a = decoy_scram_credential(mech, "ghost");
  const auto again = decoy_scram_credential(mech, "ghost");
  const auto other = decoy_scram_credential(mech, "phantom");
  CHECK(a.salt == again.salt);
  CHECK(a.stored_key == again.stored_key);
  CHECK(a.salt != other.salt);
  CHECK(a.stored_key != other.stored_key);
  // Shaped like a real credential, so verify_password() runs the full PBKDF2 instead of bailing out.
  const auto parsed = parse_stored_form(to_stored_form(a));
  REQUIRE(parsed);
  CHECK(parsed->iterations == scram_min_iterations);
  CHECK(parsed->salt.size() == 32);
  for (const char* pw : {"", "ghost", "password", "pencil"}) CHECK_FALSE(verify_password(a, pw));
}

TEST_CASE("librdkafka's client-final (its nonce, then the combined nonce) is accepted as Kafka brokers accept it",
          "[scram]") {
  // librdkafka 2.0.2 writes r=<client nonce><combined nonce>; Kafka's ScramSaslServer checks
  // only that the nonce ends with the combined one, and the proof covers the message as sent.
  const auto mech = scram_mechanism::sha512;
  user_db db;
  db.users.emplace("bob", make_scram_credential(mech, "bob-secret"));
  const std::string client_first_bare = "n=bob,r=cnonce";
  for (const char* password : {"bob-secret", "wrong"}) {
    scram_server server(mech, db.lookup(), "snonce");
    const auto s1 = server.on_message("n,," + client_first_bare);
    REQUIRE(s1.st == st::need_more);
    const std::string final_msg =
        reference_client_final(mech, password, client_first_bare, s1.reply, "c=biws,r=cnoncecnoncesnonce");
    const auto s2 = server.on_message(final_msg);
    CHECK(s2.st == (std::string(password) == "bob-secret" ? st::succeeded : st::failed));
  }
  // The server's part of the nonce must still be there.
  scram_server server(mech, db.lookup(), "snonce");
  const auto s1 = server.on_message("n,," + client_first_bare);
  const auto s2 = server.on_message(
      reference_client_final(mech, "bob-secret", client_first_bare, s1.reply, "c=biws,r=cnoncecnonce"));
  CHECK(s2.st == st::failed);
  CHECK(s2.error.find("nonce does not match") != std::string::npos);
}

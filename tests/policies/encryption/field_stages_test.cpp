// Sealing on produce and opening on fetch, one record at a time: fields round-trip exactly for
// principals who may decrypt; tokens moved to another field, record or topic, flipped bits,
// forged key ids and erased keys never come out as plaintext; others get tokens or their mask.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "policies/encryption/field_stages.h"
#include "tests/support/memory_key_store.h"
#include "tests/support/test_kms.h"

namespace enc = kgw::policies::encryption;
using kgw::policies::record_arena;
using kgw::policies::record_in;
using kgw::policies::record_result;
using kgw::policies::verdict;
using namespace std::chrono_literals;

namespace {

kgw::policies::encryption_rule rule_for(std::vector<std::string> fields) {
  kgw::policies::encryption_rule r;
  r.kek = "kek-1";
  r.fields = std::move(fields);
  r.whole_value = r.fields.empty();
  return r;
}

struct fixture {
  std::shared_ptr<kgw::testing::shared_key_log> log = std::make_shared<kgw::testing::shared_key_log>();
  std::shared_ptr<enc::key_manager> keys;
  record_arena arena;
  explicit fixture(std::shared_ptr<kgw::testing::shared_key_log> shared = nullptr) {
    if (shared) log = std::move(shared);
    enc::key_limits l;
    l.follow_interval = 20ms;
    keys = std::make_shared<enc::key_manager>(std::make_shared<kgw::testing::test_kms>(),
                                              std::make_unique<kgw::testing::memory_key_store>(log), l);
    REQUIRE(keys->start());
  }

  // Seals one record's value, making keys when asked (as the policy does). The sealed value.
  record_result seal(const kgw::policies::encryption_rule& rule, std::string_view topic, std::string_view value,
                     std::optional<std::string_view> key = std::nullopt) {
    auto compiled = enc::compiled_rule::compile(rule);
    REQUIRE(compiled);
    record_in in;
    in.key = key;
    in.value = value;
    record_result out;
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::vector<enc::key_scope> missing;
      enc::record_sealer sealer(**compiled, topic, *keys, missing);
      sealer.apply(in, out, arena);
      if (out.what != verdict::retry) break;
      REQUIRE_FALSE(missing.empty());
      std::promise<std::expected<void, std::string>> p;
      keys->prepare(missing, [&](std::expected<void, std::string> r) { p.set_value(r); });
      REQUIRE(p.get_future().get());
    }
    return out;
  }
  std::shared_ptr<const enc::record_opener> opener(const kgw::policies::encryption_rule& rule, std::string topic,
                                                   enc::record_opener::mode m) {
    auto compiled = enc::compiled_rule::compile(rule);
    REQUIRE(compiled);
    auto o = enc::record_opener::compile(*compiled, std::move(topic), m, "a-hash-key-of-16-bytes+", keys);
    REQUIRE(o);
    return *o;
  }
};

std::string str(std::optional<std::string_view> v) { return v ? std::string(*v) : std::string("<null>"); }

// Opens `value` (fetch) through `o`; retries while a key is pending (the manager reads its store).
record_result open_value(const enc::record_opener& o, record_arena& arena, std::string_view value,
                         std::optional<std::string_view> key = std::nullopt,
                         std::vector<kgw::policies::record_header> headers = {}) {
  record_in in;
  in.key = key;
  in.value = value;
  in.headers = headers;
  record_result out;
  for (int i = 0; i < 200; ++i) {
    o.apply(in, out, arena);
    if (out.what != verdict::retry) break;
    std::this_thread::sleep_for(10ms);
  }
  return out;
}

const std::string customer =
    R"({"id": 17, "name": "Ada", "email": "ada@example.com", "address": {"street": "1 Main St", "city": "Oslo"},)"
    R"( "score": 12.50, "items": [{"card": "4111"}, {"card": {"n": 1}}]})";

}  // namespace

TEST_CASE("encryption stages: sealed fields hold no plaintext and open to the exact original") {
  fixture f;
  const auto rule = rule_for({"email", "address.street", "score", "items[*].card"});
  const auto sealed = f.seal(rule, "customers", customer, "cust-17");
  REQUIRE(sealed.what == verdict::keep);
  REQUIRE(sealed.value_changed);
  CHECK(sealed.sealed == 5);
  const std::string stored = str(sealed.value);
  for (const char* secret : {"ada@example.com", "1 Main St", "12.50", "4111", "\"n\""})
    CHECK(stored.find(secret) == std::string::npos);
  CHECK(stored.find(R"("name": "Ada")") != std::string::npos);  // other fields as they were
  CHECK(stored.find(R"("email": "kgw1:k)") != std::string::npos);

  const auto fraud = f.opener(rule, "customers", enc::record_opener::mode::decrypt);
  const auto opened = open_value(*fraud, f.arena, stored, "cust-17");
  REQUIRE(opened.what == verdict::keep);
  CHECK(opened.opened == 5);
  CHECK(str(opened.value) == customer);  // byte for byte, number spelling and nesting included

  // Others: the tokens as stored by default, or their mask.
  const auto plain_reader = f.opener(rule, "customers", enc::record_opener::mode::token);
  const auto as_tokens = open_value(*plain_reader, f.arena, stored, "cust-17");
  CHECK(as_tokens.what == verdict::keep);
  CHECK_FALSE(as_tokens.value_changed);

  auto masked_rule = rule;
  masked_rule.others = kgw::policies::mask_rule{};
  masked_rule.others->function = kgw::policies::mask_function::redact;
  const auto marketing = f.opener(masked_rule, "customers", enc::record_opener::mode::mask);
  const auto redacted = open_value(*marketing, f.arena, stored, "cust-17");
  CHECK(redacted.opened == 0);  // redact needs no plaintext
  CHECK(str(redacted.value).find(R"("email": "***")") != std::string::npos);

  masked_rule.others->function = kgw::policies::mask_function::partial;
  masked_rule.others->keep_domain = true;
  const auto partial = f.opener(masked_rule, "customers", enc::record_opener::mode::mask);
  const auto domains = open_value(*partial, f.arena, stored, "cust-17");
  CHECK(domains.opened == 5);  // decrypted inside the gateway for the mask
  CHECK(str(domains.value).find(R"("email": "***@example.com")") != std::string::npos);
  CHECK(str(domains.value).find("1 Main St") == std::string::npos);
}

TEST_CASE("encryption stages: moved, tampered or forged tokens never open") {
  fixture f;
  const auto rule = rule_for({"email", "phone"});
  const std::string value = R"({"email": "ada@example.com", "phone": "+47 123"})";
  const std::string stored = str(f.seal(rule, "customers", value, "cust-17").value);
  const auto fraud = f.opener(rule, "customers", enc::record_opener::mode::decrypt);
  REQUIRE(str(open_value(*fraud, f.arena, stored, "cust-17").value) == value);

  auto token_of = [&](const std::string& field) {
    const auto at = stored.find("\"" + field + "\": \"") + field.size() + 5;
    return stored.substr(at, stored.find('"', at) - at);
  };
  const std::string email = token_of("email"), phone = token_of("phone");
  auto expect_refused = [&](const std::string& v, std::optional<std::string_view> key, const std::string& topic) {
    const auto o = f.opener(rule, topic, enc::record_opener::mode::decrypt);
    const auto r = open_value(*o, f.arena, v, key);
    CHECK(r.what == verdict::drop_invalid);  // on_error: drop (the default)
    CHECK(r.undecryptable >= 1);
    CHECK(str(r.value).find("ada@example.com") == std::string::npos);
  };
  // Another field, another record's key, no key, another topic.
  expect_refused(R"({"email": ")" + phone + R"(", "phone": ")" + email + R"("})", "cust-17", "customers");
  expect_refused(stored, "cust-18", "customers");
  expect_refused(stored, std::nullopt, "customers");
  expect_refused(stored, "cust-17", "customers-copy");
  // A flipped bit anywhere in the base64 body; a forged key id; an unknown version; plaintext.
  std::string flipped = stored;
  const auto body = flipped.find(email) + email.size() - 10;
  flipped[body] = flipped[body] == 'A' ? 'B' : 'A';
  expect_refused(flipped, "cust-17", "customers");
  std::string forged = stored;
  forged.replace(forged.find(email) + 5, 33, "k00000000000000000000000000000000");
  expect_refused(forged, "cust-17", "customers");
  std::string future = stored;
  future.replace(future.find(email), 4, "kgw9");
  expect_refused(future, "cust-17", "customers");
  expect_refused(value, "cust-17", "customers");

  // on_error other than drop: the field, never its plaintext.
  auto nulling = rule;
  nulling.on_error = kgw::policies::open_error_action::null;
  const auto o = f.opener(nulling, "customers", enc::record_opener::mode::decrypt);
  const auto r = open_value(*o, f.arena, stored, "cust-18");
  CHECK(r.what == verdict::keep);
  CHECK(str(r.value) == R"({"email": null, "phone": null})");
  // Token readers never see plaintext written around the gateway.
  const auto tokens = f.opener(rule, "customers", enc::record_opener::mode::token);
  CHECK(str(open_value(*tokens, f.arena, value).value) == R"({"email": "***", "phone": "***"})");
}

TEST_CASE("encryption stages: values that are not JSON, whole values and the gateway's header") {
  fixture f;
  auto rule = rule_for({"email"});
  const auto refused = f.seal(rule, "customers", "not json", "k");
  CHECK(refused.what == verdict::drop_invalid);
  CHECK(std::string(refused.why).find("not JSON") != std::string::npos);

  rule.not_json = kgw::policies::not_json_action::encrypt_value;
  const auto whole = f.seal(rule, "customers", "not json", "k");
  REQUIRE(whole.what == verdict::keep);
  REQUIRE(whole.headers_changed);
  REQUIRE(whole.headers.size() == 1);
  CHECK(whole.headers[0].key == "kgw-encryption");
  CHECK(str(whole.headers[0].value).starts_with("kgw1:k"));
  CHECK(str(whole.value).find("not json") == std::string::npos);
  const std::string sealed_value = str(whole.value);
  const std::vector<kgw::policies::record_header> headers{whole.headers[0]};
  const auto fraud = f.opener(rule, "customers", enc::record_opener::mode::decrypt);
  const auto back = open_value(*fraud, f.arena, sealed_value, "k", headers);
  CHECK(str(back.value) == "not json");
  CHECK(back.headers_changed);
  CHECK(back.headers.empty());  // the gateway's header goes with the ciphertext
  CHECK(open_value(*fraud, f.arena, sealed_value, "other", headers).what == verdict::drop_invalid);

  // A producer cannot set the header itself.
  record_in in;
  in.value = R"({"email": "x"})";
  in.headers = headers;
  std::vector<enc::key_scope> missing;
  auto compiled = enc::compiled_rule::compile(rule);
  record_result out;
  enc::record_sealer(**compiled, "customers", *f.keys, missing).apply(in, out, f.arena);
  CHECK(out.what == verdict::drop_invalid);

  // Whole-value rule; a tombstone stays a tombstone.
  const auto value_rule = rule_for({});
  const auto all = f.seal(value_rule, "payments", R"({"amount": 5})", "p1");
  REQUIRE(all.headers_changed);
  CHECK(str(all.value).find("amount") == std::string::npos);
  record_in tomb;
  tomb.key = "p1";
  record_result t;
  enc::record_sealer(**enc::compiled_rule::compile(value_rule), "payments", *f.keys, missing).apply(tomb, t, f.arena);
  CHECK(t.what == verdict::keep);
  CHECK_FALSE(t.value_changed);
}

TEST_CASE("encryption stages: per-subject keys shred one subject and leave the others") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  fixture writer(log), reader(log);
  auto rule = rule_for({"email"});
  rule.subject = "id";
  const std::string v17 = R"({"id": 17, "email": "ada@example.com"})", v18 = R"({"id": "18", "email": "bo@example.com"})";
  const std::string s17 = str(writer.seal(rule, "customers", v17).value), s18 = str(writer.seal(rule, "customers", v18).value);
  CHECK(writer.keys->list().size() == 2);  // one key per subject
  CHECK(writer.seal(rule, "customers", R"({"email": "x@y"})").what == verdict::drop_invalid);  // no subject

  const auto fraud = reader.opener(rule, "customers", enc::record_opener::mode::decrypt);
  REQUIRE(str(open_value(*fraud, reader.arena, s17).value) == v17);
  REQUIRE(*reader.keys->shred("customers", "17") == 1);
  const auto gone = open_value(*fraud, reader.arena, s17);
  CHECK(gone.what == verdict::drop_invalid);
  CHECK(gone.undecryptable == 1);
  CHECK(str(open_value(*fraud, reader.arena, s18).value) == v18);
}

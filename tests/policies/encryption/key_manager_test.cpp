// The key manager over a test KMS and an in-memory key store shared by "instances": keys are
// made, stored wrapped and found by other instances; unknown ids resolve to pending then
// missing; use limits rotate keys; shredding a subject erases its keys everywhere; a KMS that
// goes away fails closed and recovers.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "policies/encryption/key_manager.h"
#include "tests/support/memory_key_store.h"
#include "tests/support/test_kms.h"

namespace enc = kgw::policies::encryption;
using namespace std::chrono_literals;

namespace {

struct instance {
  std::shared_ptr<kgw::testing::test_kms> kms;
  enc::key_manager keys;
  instance(std::shared_ptr<kgw::testing::shared_key_log> log, std::shared_ptr<kgw::testing::test_kms> k, enc::key_limits limits = {})
      : kms(std::move(k)), keys(kms, std::make_unique<kgw::testing::memory_key_store>(std::move(log)), limits) {}
};

enc::key_limits fast() {
  enc::key_limits l;
  l.follow_interval = 20ms;
  return l;
}

// Prepares keys for scopes and waits for the manager's answer.
std::expected<void, std::string> prepared(enc::key_manager& m, std::vector<enc::key_scope> scopes) {
  std::promise<std::expected<void, std::string>> p;
  auto f = p.get_future();
  m.prepare(std::move(scopes), [&](std::expected<void, std::string> r) { p.set_value(std::move(r)); });
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  return f.get();
}

// Polls until the id leaves the pending state (the manager reads the store on its thread).
enc::opened_key settled(enc::key_manager& m, const std::string& id) {
  auto o = m.opening_key(id);
  for (int i = 0; i < 250 && enc::transient(o.state); ++i) {
    std::this_thread::sleep_for(10ms);
    o = m.opening_key(id);
  }
  return o;
}

const enc::key_scope customers{"kek-1", "customers", ""};

}  // namespace

TEST_CASE("key manager: a key is stored wrapped before it seals, and another instance opens it") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  auto kms = std::make_shared<kgw::testing::test_kms>();
  instance a(log, kms, fast()), b(log, kms, fast());
  REQUIRE(a.keys.start());
  REQUIRE(b.keys.start());
  CHECK(a.keys.sealing_key(customers) == nullptr);  // nothing made yet
  REQUIRE(prepared(a.keys, {customers}));
  const auto key = a.keys.sealing_key(customers);
  REQUIRE(key);
  {
    std::lock_guard lock(log->mu);
    REQUIRE(log->records.size() == 1);
    CHECK(log->records[0].first == key->id);
    const std::string& value = *log->records[0].second;
    CHECK(value.starts_with("kgw1 kms=test kek=kek-1 topic=customers subject=- created="));
    // Only the wrapped form is stored.
    CHECK(value.find(enc::encode_base64({reinterpret_cast<const char*>(key->bytes.data()), 32})) == std::string::npos);
    const auto decoded = enc::decode_stored_key(key->id, value);
    REQUIRE(decoded);
    CHECK(decoded->kek == "kek-1");
  }
  // The same key is used until it runs out; preparing again makes nothing new.
  CHECK(a.keys.sealing_key(customers) == key);
  REQUIRE(prepared(a.keys, {customers}));
  CHECK(a.keys.sealing_key(customers) == key);
  CHECK(a.keys.opening_key(key->id).state == enc::key_state::ready);

  // Instance b learns it from the store (it was started before the key existed).
  const auto in_b = settled(b.keys, key->id);
  REQUIRE(in_b.state == enc::key_state::ready);
  CHECK(in_b.key->bytes == key->bytes);
  // A third instance started later reads it at start-up.
  instance c(log, kms, fast());
  REQUIRE(c.keys.start());
  CHECK(c.keys.opening_key(key->id).state == enc::key_state::ready);
  CHECK(c.keys.list().size() == 1);
}

TEST_CASE("key manager: an id nobody stored is pending, then missing") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  instance a(log, std::make_shared<kgw::testing::test_kms>(), fast());
  REQUIRE(a.keys.start());
  CHECK(a.keys.opening_key("k-forged").state == enc::key_state::pending);
  CHECK(settled(a.keys, "k-forged").state == enc::key_state::missing);
  // A record that does not decode is missing as well.
  log->append("k-garbage", "kgw1 kms=test kek=kek-1");
  CHECK(settled(a.keys, "k-garbage").state == enc::key_state::missing);
}

TEST_CASE("key manager: ids no key has are remembered up to a limit, and made-up ones never asked for") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  auto limits = fast();
  limits.max_unknown_ids = 4;
  instance a(log, std::make_shared<kgw::testing::test_kms>(), limits);
  REQUIRE(a.keys.start());
  REQUIRE(prepared(a.keys, {customers}));
  const auto real = a.keys.sealing_key(customers);
  REQUIRE(real);
  // An id that is no key id at all (tokens are not validated before the lookup) is missing
  // at once: nothing is asked of the store.
  CHECK(a.keys.opening_key("not a key id!").state == enc::key_state::missing);
  CHECK(a.keys.opening_key(std::string(65, 'k')).state == enc::key_state::missing);
  // Made-up ids, as tokens written around the gateway could name: each settles as missing, and
  // the fifth makes room by forgetting the first four, which is then asked for again.
  for (int i = 1; i <= 5; ++i) CHECK(settled(a.keys, "k-forged-" + std::to_string(i)).state == enc::key_state::missing);
  CHECK(a.keys.opening_key("k-forged-5").state == enc::key_state::missing);  // remembered
  CHECK(a.keys.opening_key("k-forged-1").state == enc::key_state::pending);  // forgotten
  CHECK(settled(a.keys, "k-forged-1").state == enc::key_state::missing);
  // Real keys are never what is forgotten.
  CHECK(a.keys.opening_key(real->id).state == enc::key_state::ready);
}

TEST_CASE("key manager: a key retires after its uses and a successor is ready before") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  auto limits = fast();
  limits.max_uses = 20;
  instance a(log, std::make_shared<kgw::testing::test_kms>(), limits);
  REQUIRE(a.keys.start());
  REQUIRE(prepared(a.keys, {customers}));
  const auto first = a.keys.sealing_key(customers);
  REQUIRE(first);
  for (int i = 2; i <= 18; ++i) REQUIRE(a.keys.sealing_key(customers) == first);
  // The 18th use crossed nine tenths: the successor is made in the background.
  std::shared_ptr<const enc::data_key> next;
  for (int i = 0; i < 200; ++i) {
    next = a.keys.sealing_key(customers);
    if (next && next != first) break;
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(next);
  CHECK(next->id != first->id);
  CHECK(a.keys.opening_key(first->id).state == enc::key_state::ready);  // old records still open
  CHECK(a.keys.list().size() == 2);

  // rotate(): the next seal needs a new key.
  CHECK(a.keys.rotate("customers") == 1);
  CHECK(a.keys.sealing_key(customers) == nullptr);
}

TEST_CASE("key manager: a key past its age is not used") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  auto limits = fast();
  limits.max_age = 50ms;
  instance a(log, std::make_shared<kgw::testing::test_kms>(), limits);
  REQUIRE(a.keys.start());
  REQUIRE(prepared(a.keys, {customers}));
  const auto first = a.keys.sealing_key(customers);
  REQUIRE(first);
  std::this_thread::sleep_for(60ms);
  const auto later = a.keys.sealing_key(customers);
  CHECK(later != first);
}

TEST_CASE("key manager: shredding a subject erases its keys on every instance, others stay") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  auto kms = std::make_shared<kgw::testing::test_kms>();
  instance a(log, kms, fast()), b(log, kms, fast());
  REQUIRE(a.keys.start());
  REQUIRE(b.keys.start());
  const enc::key_scope s17{"kek-1", "customers", "17"}, s18{"kek-1", "customers", "18"},
      other_topic{"kek-1", "orders", "17"};
  REQUIRE(prepared(a.keys, {s17, s18, other_topic}));
  const auto k17 = a.keys.sealing_key(s17), k18 = a.keys.sealing_key(s18), k_orders = a.keys.sealing_key(other_topic);
  REQUIRE((k17 && k18 && k_orders));
  CHECK(k17->id != k18->id);
  REQUIRE(settled(b.keys, k17->id).state == enc::key_state::ready);  // b has opened it (and cached it)

  const auto shredded = b.keys.shred("customers", "17");
  REQUIRE(shredded);
  CHECK(*shredded == 1);
  CHECK(b.keys.opening_key(k17->id).state == enc::key_state::erased);
  // a follows the tombstone: its cached key and its sealing key for 17 are gone.
  enc::opened_key in_a;
  for (int i = 0; i < 250; ++i) {
    in_a = a.keys.opening_key(k17->id);
    if (in_a.state != enc::key_state::ready) break;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(in_a.state == enc::key_state::erased);
  CHECK(a.keys.sealing_key(s17) == nullptr);
  CHECK(a.keys.opening_key(k18->id).state == enc::key_state::ready);
  CHECK(a.keys.opening_key(k_orders->id).state == enc::key_state::ready);
  // Restarted, still erased (the tombstone is in the store).
  instance c(log, kms, fast());
  REQUIRE(c.keys.start());
  CHECK(c.keys.opening_key(k17->id).state == enc::key_state::erased);
  CHECK(c.keys.opening_key(k18->id).state == enc::key_state::ready);
  CHECK(*c.keys.shred("customers", "nobody") == 0);
}

TEST_CASE("key manager: a KMS or store out of reach fails closed, and recovery follows") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  auto kms = std::make_shared<kgw::testing::test_kms>();
  {
    kms->up = false;
    instance early(log, kms, fast());
    const auto started = early.keys.start();
    REQUIRE_FALSE(started);
    CHECK(started.error() == "KMS (test): KMS down");
    kms->up = true;
  }
  {
    log->down = true;
    instance early(log, kms, fast());
    const auto started = early.keys.start();
    REQUIRE_FALSE(started);
    CHECK(started.error() == "test key store: store down");
    log->down = false;
  }
  auto kms_b = std::make_shared<kgw::testing::test_kms>();
  instance a(log, kms, fast()), b(log, kms_b, fast());
  REQUIRE(a.keys.start());
  REQUIRE(b.keys.start());

  // b's KMS goes away: a key a makes meanwhile is unavailable in b (worth a retry), not lost.
  kms_b->up = false;
  REQUIRE(prepared(a.keys, {customers}));
  const auto key = a.keys.sealing_key(customers);
  REQUIRE(key);
  auto in_b = b.keys.opening_key(key->id);
  for (int i = 0; i < 250 && in_b.state != enc::key_state::unavailable; ++i) {
    std::this_thread::sleep_for(10ms);
    in_b = b.keys.opening_key(key->id);
  }
  CHECK(in_b.state == enc::key_state::unavailable);
  const auto no_key = prepared(b.keys, {customers});
  REQUIRE_FALSE(no_key);
  CHECK(no_key.error() == "KMS down");
  kms_b->up = true;
  CHECK(settled(b.keys, key->id).state == enc::key_state::ready);

  // The store out of reach: no new key (nothing is sealed with a key others could not find).
  log->down = true;
  const auto no_store = prepared(b.keys, {{"kek-1", "orders", ""}});
  REQUIRE_FALSE(no_store);
  CHECK(no_store.error() == "test key store: store down");
  CHECK(b.keys.sealing_key({"kek-1", "orders", ""}) == nullptr);
  log->down = false;
  REQUIRE(prepared(b.keys, {{"kek-1", "orders", ""}}));
}

TEST_CASE("key records: the stored form round-trips and anything else is refused") {
  enc::stored_key k{"k0123", "pkcs11", "kek-1", "customers", enc::subject_tag("customers", "17"), 1733400000000,
                    std::string("\x01\x02wrapped\xff", 10)};
  const auto line = enc::encode_stored_key(k);
  CHECK(line.find(" subject=" + k.subject + " ") != std::string::npos);
  CHECK(k.subject.size() == 32);
  CHECK(enc::subject_tag("customers", "17") != enc::subject_tag("customers", "18"));
  CHECK(enc::subject_tag("customers", "17") != enc::subject_tag("orders", "17"));
  const auto back = enc::decode_stored_key("k0123", line);
  REQUIRE(back);
  CHECK(*back == k);
  CHECK(enc::decode_stored_key("k0123", line + " future=field"));  // newer fields are ignored
  for (const std::string& bad : {std::string("kgw2 kms=x"), line.substr(0, line.find(" wrapped=")),
                                line + " kek=again", std::string("kgw1 kms=a kek=b topic=c subject=zz created=1 wrapped=AA=="),
                                std::string("kgw1 kms=a kek=b topic=c subject=- created=x wrapped=AA==")})
    CHECK_FALSE(enc::decode_stored_key("k0123", bad));
  CHECK_FALSE(enc::decode_stored_key("bad id", line));
}

TEST_CASE("key manager: a rotation request retires every instance's sealing keys; a catalogue needs no KMS") {
  auto log = std::make_shared<kgw::testing::shared_key_log>();
  auto kms = std::make_shared<kgw::testing::test_kms>();
  instance a(log, kms, fast()), b(log, kms, fast());
  REQUIRE(a.keys.start());
  REQUIRE(b.keys.start());
  const enc::key_scope orders{"kek-1", "orders", ""};
  REQUIRE(prepared(a.keys, {customers, orders}));
  REQUIRE(prepared(b.keys, {customers}));
  const auto a_orders = a.keys.sealing_key(orders);
  REQUIRE(a.keys.sealing_key(customers));
  REQUIRE(b.keys.sealing_key(customers));

  // An operator's tool: reads the catalogue without the KMS, asks for rotation of customers.
  enc::key_manager tool(nullptr, std::make_unique<kgw::testing::memory_key_store>(log), fast());
  REQUIRE(tool.start());
  CHECK(tool.list().size() == 3);
  CHECK_FALSE(tool.health());
  REQUIRE(tool.request_rotation("customers"));
  bool retired = false;
  for (int i = 0; i < 250 && !retired; ++i) {
    retired = !a.keys.sealing_key(customers) && !b.keys.sealing_key(customers);
    if (!retired) std::this_thread::sleep_for(10ms);
  }
  CHECK(retired);
  CHECK(a.keys.sealing_key(orders) == a_orders);  // other topics keep theirs
  // Keys made after the request are used.
  REQUIRE(prepared(a.keys, {customers}));
  const auto fresh = a.keys.sealing_key(customers);
  REQUIRE(fresh);
  std::this_thread::sleep_for(60ms);  // a.follow passes again over the same request
  CHECK(a.keys.sealing_key(customers) == fresh);
  // The catalogue can shred without opening anything.
  CHECK(*tool.shred("orders", "") == 0);  // whole-topic keys have no subject
}

namespace {

// A store whose reads block until released: a cluster that stops answering mid-call.
class stuck_store final : public kgw::policies::encryption::key_store {
 public:
  std::shared_ptr<std::atomic<bool>> stuck = std::make_shared<std::atomic<bool>>(false);
  std::string describe() const override { return "stuck store"; }
  std::expected<void, std::string> write(std::span<const enc::store_record>) override { return {}; }
  std::expected<void, std::string> read_new(
      const std::function<void(std::string_view, std::optional<std::string_view>)>&) override {
    while (*stuck) std::this_thread::sleep_for(5ms);
    return {};
  }
};

}  // namespace

TEST_CASE("key manager: stop is bounded even when a store call never returns") {
  auto store = std::make_unique<stuck_store>();
  auto stuck = store->stuck;
  auto limits = fast();
  limits.stop_wait = 200ms;
  auto keys = std::make_unique<enc::key_manager>(std::make_shared<kgw::testing::test_kms>(), std::move(store), limits);
  REQUIRE(keys->start());
  *stuck = true;  // the next follow pass hangs
  std::this_thread::sleep_for(60ms);
  const auto t0 = std::chrono::steady_clock::now();
  keys.reset();  // stops: waits 200 ms, then leaves the thread behind
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  *stuck = false;  // the left-behind thread finishes on its own (it owns the state)
  std::this_thread::sleep_for(50ms);
}

// policy_set: which view and validation rules apply (the principal's own, else its teams', else
// everyone's), compiled once per (principal, topic) and per principal, and fail-closed errors.
#include <catch2/catch.hpp>

#include <thread>

#include "config/loader.h"
#include "policies/policy_set.h"
#include "policies/registry.h"
#include "tests/support/with_policies.h"

using kgw::policies::policy_set;
using kgw::policies::record_arena;
using kgw::policies::record_in;
using kgw::policies::record_result;
using kgw::policies::verdict;

namespace {

kgw::config::gateway_config load(const std::string& policies) {
  auto c = kgw::config::load_string(R"(
upstream: { bootstrap: [a:1] }
principals:
  alice: { teams: [sales, readers] }
  bob: { teams: [readers] }
  carol: { teams: [support] }
  dave: { teams: [readers], attributes: { territory: EU } }
policies:
)" + policies,
                                    "set.yaml", kgw::testing::with_policies());
  if (!c) FAIL(c.error());
  return std::move(*c);
}

// Does `view` deliver a record with this JSON value?
bool delivers(const std::shared_ptr<const kgw::policies::topic_policies>& tp, std::string_view value) {
  if (!tp->view) return true;
  record_in in;
  in.value = value;
  record_result out;
  record_arena arena;
  tp->view->apply(in, out, arena);
  return out.what == verdict::keep;
}

// The levels, told apart by the row each level lets through.
const std::string levels = R"(
  views:
    - { principals: [alice], topics: [t], where: "level == 1" }
    - { teams: [readers], topics: [t], where: "level == 2" }
    - { teams: [support], topics: [t, {prefix: "x-"}], where: "level == 3" }
    - { everyone: true, topics: [t, u], where: "level == 4" }
    - { principals: [bob], topics: [u], where: "level == 5" }
    - { teams: [readers], topics: [t], where: "shard == 7" }
)";

}  // namespace

TEST_CASE("views: the principal's own rules, else its teams', else everyone's") {
  const auto c = load(levels);
  policy_set set(c);
  CHECK_FALSE(set.empty());
  // alice is named: her rule alone, the team and everyone rules do not add up.
  auto alice = set.for_topic("alice", "t");
  REQUIRE(alice->error.empty());
  CHECK(delivers(alice, R"({"level": 1})"));
  CHECK_FALSE(delivers(alice, R"({"level": 2, "shard": 7})"));
  // bob is in readers: both reader rules, AND-ed.
  auto bob = set.for_topic("bob", "t");
  CHECK(delivers(bob, R"({"level": 2, "shard": 7})"));
  CHECK_FALSE(delivers(bob, R"({"level": 2, "shard": 8})"));
  CHECK_FALSE(delivers(bob, R"({"level": 1})"));
  // carol's team rule; a principal with no team rule (stranger) gets everyone's.
  CHECK(delivers(set.for_topic("carol", "t"), R"({"level": 3})"));
  CHECK_FALSE(delivers(set.for_topic("carol", "t"), R"({"level": 4})"));
  CHECK(delivers(set.for_topic("stranger", "t"), R"({"level": 4})"));
  CHECK_FALSE(delivers(set.for_topic("stranger", "t"), R"({"level": 3})"));
  // Levels are chosen per topic: on u, bob is named, alice falls back to everyone.
  CHECK(delivers(set.for_topic("bob", "u"), R"({"level": 5})"));
  CHECK_FALSE(delivers(set.for_topic("bob", "u"), R"({"level": 4})"));
  CHECK(delivers(set.for_topic("alice", "u"), R"({"level": 4})"));
  CHECK(delivers(set.for_topic("carol", "x-1"), R"({"level": 3})"));
  // No rule for the topic at all: nothing to do.
  auto none = set.for_topic("alice", "other");
  CHECK(none->error.empty());
  CHECK_FALSE(none->view);
  CHECK_FALSE(none->validator);
}

TEST_CASE("views see the principal's attributes") {
  const auto c = load(R"(
  views:
    - { teams: [readers], topics: [t], where: "region == principal.territory" }
)");
  policy_set set(c);
  CHECK(delivers(set.for_topic("dave", "t"), R"({"region": "EU"})"));
  CHECK_FALSE(delivers(set.for_topic("dave", "t"), R"({"region": "US"})"));
  // bob has no territory: the comparison is false, every row is filtered out.
  CHECK_FALSE(delivers(set.for_topic("bob", "t"), R"({"region": "EU"})"));
}

TEST_CASE("validation rules follow the same levels") {
  const auto c = load(R"(
  validation:
    - { everyone: true, topics: [t], required_fields: [id] }
    - { teams: [sales], topics: [t], required_fields: [id, amount] }
    - { principals: [alice], topics: [t], require_json: true }
)");
  policy_set set(c);
  record_in in;
  in.value = R"({"id": 1})";
  // Why the record is refused; nothing when it passes.
  auto check = [&](const char* who) -> std::optional<std::string> {
    auto tp = set.for_topic(who, "t");
    REQUIRE(tp->error.empty());
    REQUIRE(tp->validator);
    const auto ok = tp->validator->check(in);
    if (ok) return std::nullopt;
    return ok.error();
  };
  CHECK_FALSE(check("alice"));   // her own rule: JSON is enough
  CHECK_FALSE(check("bob"));     // everyone's rule: id is there
  in.value = R"({"amount": 1})";
  CHECK(check("bob"));
  in.value = "not json";
  CHECK(check("alice"));
  CHECK_FALSE(set.for_topic("alice", "t")->view);
}

TEST_CASE("compiled once: the same objects come back, per principal and per topic") {
  const auto c = load(levels);
  policy_set set(c);
  auto a1 = set.for_topic("alice", "t");
  auto a2 = set.for_topic("alice", "t");
  CHECK(a1.get() == a2.get());
  CHECK(a1.get() != set.for_topic("bob", "t").get());
  CHECK(a1.get() != set.for_topic("alice", "u").get());
  auto acl1 = set.acl("alice");
  CHECK(acl1.get() == set.acl("alice").get());
  CHECK(acl1.get() != set.acl("bob").get());
  // Unknown principals get a name-only entry, the same one each time.
  const auto& s1 = set.principal("stranger");
  CHECK(s1.name == "stranger");
  CHECK(s1.teams.empty());
  CHECK(&s1 == &set.principal("stranger"));
  CHECK(set.principal("dave").attributes.at("territory") == "EU");

  // Many threads asking at once all get the one compiled object.
  policy_set shared(c);
  std::vector<const void*> seen(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      const void* p = nullptr;
      for (int k = 0; k < 200; ++k) p = shared.for_topic("bob", "t").get();
      seen[i] = p;
    });
  for (auto& t : threads) t.join();
  for (const void* p : seen) CHECK(p == seen[0]);
}

TEST_CASE("a view that does not compile fails closed") {
  // Built by hand: the loader refuses a hash mask without a hash_key, the cache must still not
  // deliver the topic ungoverned if such a config reaches it.
  kgw::config::gateway_config c;
  kgw::policies::view_rule v;
  v.who.what = kgw::config::subject::kind::everyone;
  v.topics.push_back({kgw::config::pattern_type::literal, "t"});
  kgw::policies::mask_rule m;
  m.fields = {"email"};
  m.function = kgw::policies::mask_function::hash;
  m.at = {"hand.yaml", 3, 7};
  v.masks.push_back(m);
  kgw::policies::validation_rule r;
  r.who.what = kgw::config::subject::kind::everyone;
  r.topics.push_back({kgw::config::pattern_type::literal, "t"});
  r.require_json = true;
  c.policies.edit<kgw::policies::view_section>().views.push_back(v);
  c.policies.edit<kgw::policies::validation_section>().rules.push_back(r);
  policy_set set(c);
  auto tp = set.for_topic("anyone", "t");
  CHECK_FALSE(tp->error.empty());
  CHECK_FALSE(tp->view);
  CHECK_FALSE(tp->validator);  // neither half applies when one is broken
  CHECK(tp.get() == set.for_topic("anyone", "t").get());  // the error is cached too
  CHECK(set.for_topic("anyone", "other")->error.empty());
}

TEST_CASE("no policy at all: the set is empty and every topic passes") {
  const auto c = load("  views: []\n");
  policy_set set(c);
  CHECK(set.empty());
  CHECK_FALSE(set.acl("x")->enabled());
  auto tp = set.for_topic("x", "t");
  CHECK_FALSE(tp->view);
  CHECK_FALSE(tp->validator);
  CHECK(tp->error.empty());
}

// End-to-end: librdkafka (C API, in-process) through the gateway to the embedded broker.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "gateway/gateway.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/rdkafka_client.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
constexpr int partitions = 6;

std::set<record> as_set(const std::vector<record>& v) { return {v.begin(), v.end()}; }

std::set<std::int32_t> partitions_of(const std::vector<record>& v) {
  std::set<std::int32_t> out;
  for (const auto& r : v) out.insert(r.partition);
  return out;
}

// Records in `want` missing from `got`, described (first few) for the failure message.
std::string missing(const std::set<record>& want, const std::set<record>& got) {
  std::string out;
  std::size_t n = 0;
  for (const auto& r : want)
    if (!got.count(r) && ++n <= 5) out += "\n  " + describe(r);
  return n ? std::to_string(n) + " missing:" + out : "none missing";
}

void require_no_errors(const std::vector<std::string>& errors, const char* who) {
  INFO(who);
  for (const auto& e : errors) FAIL_CHECK(e);
  REQUIRE(errors.empty());
}

}  // namespace

TEST_CASE("librdkafka: 10,000 keyed records reach two consumer groups byte-identical", "[e2e][librdkafka]") {
  e2e_environment env({{"orders", partitions}});
  const auto deadline = clock::now() + 90s;

  producer prod(env.bootstrap());
  const auto produced = prod.produce("orders", keyed_payloads("orders", 10'000, 200), deadline);
  require_no_errors(prod.errors(), "producer");
  REQUIRE(produced.size() == 10'000);
  REQUIRE(partitions_of(produced).size() == partitions);  // keys spread over all partitions
  const auto want = as_set(produced);
  REQUIRE(want.size() == 10'000);

  consumer a(env.bootstrap(), "group-a"), b(env.bootstrap(), "group-b");
  a.subscribe({"orders"});
  b.subscribe({"orders"});
  std::array<std::set<record>, 2> got;
  std::array<std::size_t, 2> received{};
  std::array<consumer*, 2> both{&a, &b};
  const bool done = poll_until(
      both,
      [&](std::size_t i, record&& r) {
        ++received[i];
        got[i].insert(std::move(r));
      },
      [&] { return got[0].size() >= want.size() && got[1].size() >= want.size(); }, deadline);
  INFO("group-a " << got[0].size() << " unique of " << received[0] << ", group-b " << got[1].size() << " unique of "
                  << received[1]);
  CHECK(done);
  CHECK(missing(want, got[0]) == "none missing");
  CHECK(missing(want, got[1]) == "none missing");
  CHECK(got[0] == want);  // nothing extra or altered: key, value, partition and offset all equal
  CHECK(got[1] == want);
  CHECK(received[0] == want.size());  // and no duplicates
  CHECK(received[1] == want.size());
  require_no_errors(a.errors(), "consumer group-a");
  require_no_errors(b.errors(), "consumer group-b");
  a.close();
  b.close();
  env.require_no_upstream_addresses();
}

TEST_CASE("librdkafka: two consumers split the partitions and the survivor takes over when one leaves",
          "[e2e][librdkafka][group]") {
  e2e_environment env({{"split", partitions}});
  const auto deadline = clock::now() + 100s;
  producer prod(env.bootstrap());

  consumer a(env.bootstrap(), "split-group"), b(env.bootstrap(), "split-group");
  a.subscribe({"split"});
  b.subscribe({"split"});
  std::array<consumer*, 2> both{&a, &b};
  std::array<std::vector<record>, 2> got;
  auto keep = [&](std::size_t i, record&& r) { got[i].push_back(std::move(r)); };

  // Both members get a share and together they cover every partition exactly once.
  std::set<std::int32_t> share_a, share_b;
  const bool balanced = poll_until(
      both, keep,
      [&] {
        share_a = a.assignment();
        share_b = b.assignment();
        std::set<std::int32_t> all(share_a);
        all.insert(share_b.begin(), share_b.end());
        return !share_a.empty() && !share_b.empty() && all.size() == partitions &&
               share_a.size() + share_b.size() == partitions;
      },
      deadline);
  INFO("assignment a=" << share_a.size() << " b=" << share_b.size());
  REQUIRE(balanced);

  const auto first = prod.produce("split", keyed_payloads("split-1", 3000), deadline);
  require_no_errors(prod.errors(), "producer");
  REQUIRE(first.size() == 3000);
  auto union_has = [&](const std::vector<record>& want) {
    std::set<record> seen(got[0].begin(), got[0].end());
    seen.insert(got[1].begin(), got[1].end());
    return std::all_of(want.begin(), want.end(), [&](const record& r) { return seen.count(r) > 0; });
  };
  REQUIRE(poll_until(both, keep, [&] { return union_has(first); }, deadline));
  // Each member consumed only its own partitions, and both did work.
  for (const auto& r : got[0]) REQUIRE(share_a.count(r.partition));
  for (const auto& r : got[1]) REQUIRE(share_b.count(r.partition));
  CHECK(!got[0].empty());
  CHECK(!got[1].empty());

  // a commits what it processed and leaves; b must take over a's partitions from a's commits.
  REQUIRE(a.commit_positions() == "");
  REQUIRE(b.commit_positions() == "");
  a.close();
  const auto second = prod.produce("split", keyed_payloads("split-2", 3000), deadline);
  require_no_errors(prod.errors(), "producer");
  REQUIRE(second.size() == 3000);
  std::array<consumer*, 1> survivor{&b};
  const bool took_over = poll_until(
      survivor, [&](std::size_t, record&& r) { got[1].push_back(std::move(r)); },
      [&] { return b.assignment().size() == partitions && union_has(second); }, deadline);
  INFO("survivor assignment " << b.assignment().size());
  REQUIRE(took_over);

  std::set<record> seen(got[0].begin(), got[0].end());
  seen.insert(got[1].begin(), got[1].end());
  std::set<record> want(first.begin(), first.end());
  want.insert(second.begin(), second.end());
  CHECK(missing(want, seen) == "none missing");  // no record lost across the rebalance
  std::size_t taken_over = std::count_if(got[1].begin(), got[1].end(), [&](const record& r) { return share_a.count(r.partition) > 0; });
  CHECK(taken_over > 0);  // b really consumed a's former partitions
  require_no_errors(b.errors(), "survivor");
  b.close();
  env.require_no_upstream_addresses();
}

TEST_CASE("librdkafka: committed offsets survive a consumer restart", "[e2e][librdkafka][group]") {
  e2e_environment env({{"ledger", partitions}});
  const auto deadline = clock::now() + 90s;
  producer prod(env.bootstrap());
  const auto produced = prod.produce("ledger", keyed_payloads("ledger", 1200), deadline);
  require_no_errors(prod.errors(), "producer");
  REQUIRE(produced.size() == 1200);

  // First consumer: read part of the log, commit exactly what it processed, leave.
  std::vector<record> first_run;
  std::map<std::int32_t, std::int64_t> commits;  // partition -> next offset
  {
    consumer c(env.bootstrap(), "ledger-group");
    c.subscribe({"ledger"});
    std::array<consumer*, 1> one{&c};
    REQUIRE(poll_until(one, [&](std::size_t, record&& r) { first_run.push_back(std::move(r)); },
                       [&] { return first_run.size() >= 500; }, deadline));
    for (const auto& r : first_run) commits[r.partition] = std::max(commits[r.partition], r.offset + 1);
    REQUIRE(c.commit("ledger", commits) == "");
    const auto stored = c.committed("ledger", partitions, 10s);
    for (const auto& [p, o] : commits) {
      INFO("partition " << p);
      CHECK(stored.count(p) == 1);
      if (stored.count(p)) CHECK(stored.at(p) == o);
    }
    require_no_errors(c.errors(), "first consumer");
    c.close();
  }

  // Second consumer, same group: starts exactly at the committed offsets (or 0 where nothing was
  // committed), never before, and reads everything after them.
  consumer c(env.bootstrap(), "ledger-group");
  c.subscribe({"ledger"});
  std::set<record> want;
  for (const auto& r : produced) {
    auto it = commits.find(r.partition);
    if (r.offset >= (it == commits.end() ? 0 : it->second)) want.insert(r);
  }
  REQUIRE(want.size() == produced.size() - first_run.size());
  std::vector<record> second_run;
  std::array<consumer*, 1> one{&c};
  const bool done = poll_until(one, [&](std::size_t, record&& r) { second_run.push_back(std::move(r)); },
                               [&] { return second_run.size() >= want.size(); }, deadline);
  INFO("second run got " << second_run.size() << " of " << want.size());
  CHECK(done);
  std::map<std::int32_t, std::int64_t> first_seen;
  for (const auto& r : second_run)
    if (!first_seen.count(r.partition) || r.offset < first_seen[r.partition]) first_seen[r.partition] = r.offset;
  for (const auto& [p, o] : first_seen) {
    INFO("partition " << p << " resumed at " << o);
    auto it = commits.find(p);
    CHECK(o == (it == commits.end() ? 0 : it->second));
  }
  CHECK(std::set<record>(second_run.begin(), second_run.end()) == want);
  CHECK(second_run.size() == want.size());  // nothing before the commit was redelivered
  require_no_errors(c.errors(), "second consumer");
  c.close();
  env.require_no_upstream_addresses();
}

TEST_CASE("librdkafka: idempotent producer", "[e2e][librdkafka][idempotence]") {
  e2e_environment env({{"payments", partitions}});
  const auto deadline = clock::now() + 60s;
  producer prod(env.bootstrap(), {{"enable.idempotence", "true"}, {"max.in.flight.requests.per.connection", "5"}});
  const auto produced = prod.produce("payments", keyed_payloads("payments", 3000), deadline);
  require_no_errors(prod.errors(), "idempotent producer");
  REQUIRE(produced.size() == 3000);

  consumer c(env.bootstrap(), "");
  c.assign_all("payments", partitions);
  std::vector<record> got;
  std::array<consumer*, 1> one{&c};
  CHECK(poll_until(one, [&](std::size_t, record&& r) { got.push_back(std::move(r)); },
                   [&] { return got.size() >= produced.size(); }, deadline));
  CHECK(std::set<record>(got.begin(), got.end()) == as_set(produced));
  CHECK(got.size() == produced.size());  // exactly once
  require_no_errors(c.errors(), "consumer");
  env.require_no_upstream_addresses();
}

TEST_CASE("librdkafka: acks=0 records arrive", "[e2e][librdkafka][acks0]") {
  e2e_environment env({{"telemetry", partitions}});
  const auto deadline = clock::now() + 60s;
  const auto payloads = keyed_payloads("telemetry", 2000);
  std::vector<record> produced;
  {
    producer prod(env.bootstrap(), {{"acks", "0"}});
    produced = prod.produce("telemetry", payloads, deadline);
    require_no_errors(prod.errors(), "acks=0 producer");
    REQUIRE(produced.size() == payloads.size());  // reports are local with acks=0: offsets unknown
  }

  consumer c(env.bootstrap(), "");
  c.assign_all("telemetry", partitions);
  std::map<std::string, std::string> got;  // key -> value
  std::array<consumer*, 1> one{&c};
  const bool all = poll_until(one, [&](std::size_t, record&& r) { got[r.key] = r.value; },
                              [&] { return got.size() >= payloads.size(); }, deadline);
  const std::map<std::string, std::string> want(payloads.begin(), payloads.end());
  std::size_t absent = 0, altered = 0;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    absent += it == got.end();
    altered += it != got.end() && it->second != v;
  }
  INFO("received " << got.size() << " of " << want.size() << "; absent " << absent << ", altered " << altered);
  CHECK(all);
  CHECK(absent == 0);
  CHECK(altered == 0);
  CHECK(got.size() == want.size());
  require_no_errors(c.errors(), "consumer");
  env.require_no_upstream_addresses();
}

}  // namespace kgw::e2e

namespace kgw::e2e {

// Without the response tap the gateway moves large pass-through Fetch responses with splice(2);
// this is the production path, so check it delivers every byte unchanged.
TEST_CASE("librdkafka: large produce requests and fetches through the zero-copy path arrive byte-identical",
          "[e2e][librdkafka][splice]") {
  e2e_environment env({{"blobs", partitions}}, 3, /*with_audit=*/false);
  const auto deadline = clock::now() + 90s;
  producer prod(env.bootstrap(), {{"linger.ms", "20"}, {"batch.size", "1000000"}});
  const auto produced = prod.produce("blobs", keyed_payloads("blobs", 3'000, 4096), deadline);
  require_no_errors(prod.errors(), "producer");
  REQUIRE(produced.size() == 3'000);
  const auto want = as_set(produced);
  // No policy, quota or metric reads these Produce requests: the large ones (~12 MB of records
  // in all) went on as they arrived, their rest spliced client to broker.
  if (env.through_gateway()) CHECK(env.gateway_instance()->spliced_bytes() > 6'000'000);
  const std::uint64_t spliced_by_produce = env.through_gateway() ? env.gateway_instance()->spliced_bytes() : 0;

  consumer c(env.bootstrap(), "blobs-group", {{"fetch.wait.max.ms", "50"}});
  c.subscribe({"blobs"});
  std::set<record> got;
  std::size_t received = 0;
  std::array<consumer*, 1> one{&c};
  const bool done = poll_until(
      one,
      [&](std::size_t, record&& r) {
        ++received;
        got.insert(std::move(r));
      },
      [&] { return got.size() >= want.size(); }, deadline);
  CHECK(done);
  CHECK(missing(want, got) == "none missing");
  CHECK(got == want);
  CHECK(received == want.size());
  require_no_errors(c.errors(), "consumer");
  c.close();
  if (env.through_gateway()) CHECK(env.gateway_instance()->spliced_bytes() - spliced_by_produce > 1'000'000);
}

}  // namespace kgw::e2e

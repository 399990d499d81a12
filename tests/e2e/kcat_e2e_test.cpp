// End-to-end: kcat 1.7.1 (a separate process, librdkafka 2.0.2 inside) through the gateway.
//
// What kcat 1.7.1 can do here, and how: -P -K reads "key<delim>value" lines (no delivery reports:
// the partition and offset of what it produced come from the broker, read directly); -X passes
// any librdkafka property (acks, enable.idempotence, session.timeout.ms, ...); -G runs a balanced
// consumer that commits automatically (interval and on close), honours -e (exits once every
// assigned partition reached its end) and -c (exits after that many records, committing exactly
// those), prints each assignment on stderr and leaves the group cleanly on SIGTERM.
//
// Every test compares records exactly (partition, offset, key, value, and how often) with what
// the broker stores, read straight from the mock (broker_contents.h).
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/e2e/broker_contents.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/record_compare.h"
#include "tests/e2e/subprocess.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
constexpr int partitions = 6;

bool have_kcat() { return ::access(KGW_E2E_KCAT, X_OK) == 0; }

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.insert(l);
  return out;
}

using args = std::vector<std::string>;

args kcat(const e2e_environment& env, args rest) {
  rest.insert(rest.begin(), {KGW_E2E_KCAT, "-b", env.bootstrap()});
  return rest;
}

// One record per line, as kcat prints it with record_format. Keys and values hold no tabs.
const std::string record_format = "%p\\t%o\\t%k\\t%s\\n";

// Balanced-consumer settings: a short session, because the mock holds a rebalance of a group that
// had members for session.timeout.ms - 1 s (a restarted member's join, a takeover); -u
// (unbuffered) so a test can follow the output of a consumer that is still running.
args group_consumer(const std::string& group, const std::string& topic, args extra = {}) {
  args a{"-G", group, "-u", "-f", record_format};
  for (const char* setting :
       {"auto.offset.reset=earliest", "session.timeout.ms=3000", "heartbeat.interval.ms=500", "fetch.wait.max.ms=100"})
    a.insert(a.end(), {"-X", setting});
  a.insert(a.end(), extra.begin(), extra.end());
  a.push_back(topic);
  return a;
}

// Complete lines only: a child that is still running may have written half a line.
std::vector<record> parse_records(const std::string& out) {
  std::vector<record> got;
  std::istringstream in(out.substr(0, out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1));
  for (std::string l; std::getline(in, l);) {
    std::istringstream f(l);
    std::string p, o, k, v;
    record r{-1, -1, "<unparsed line>", l};  // shows up as unexpected
    if (std::getline(f, p, '\t') && std::getline(f, o, '\t') && std::getline(f, k, '\t') && std::getline(f, v) &&
        !p.empty() && !o.empty() && std::all_of(p.begin(), p.end(), ::isdigit) &&
        std::all_of(o.begin(), o.end(), ::isdigit))
      r = record{std::stoi(p), std::stoll(o), k, v};
    got.push_back(std::move(r));
  }
  return got;
}

std::size_t complete_lines(const std::string& out) {
  return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
}

// Each assignment kcat -G reported on stderr, in order:
// "% Group g rebalanced (memberid 0x..): assigned: topic [0], topic [1]".
std::vector<std::set<int>> assignments(const std::string& err) {
  static const std::regex assigned(R"(rebalanced \(memberid [^)]*\): assigned: (.*))");
  static const std::regex partition(R"(\[(\d+)\])");
  std::vector<std::set<int>> out;
  std::istringstream in(err);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_search(l, m, assigned)) continue;
    const std::string list = m[1];
    std::set<int> parts;
    for (auto it = std::sregex_iterator(list.begin(), list.end(), partition); it != std::sregex_iterator(); ++it)
      parts.insert(std::stoi((*it)[1]));
    out.push_back(std::move(parts));
  }
  return out;
}

std::set<int> last_assignment(const child_process& c) {
  auto all = assignments(c.err());
  return all.empty() ? std::set<int>{} : all.back();
}

std::set<int> partitions_of(const std::vector<record>& v) {
  std::set<int> out;
  for (const auto& r : v) out.insert(r.partition);
  return out;
}

// Pumps the children until the group's committed offsets for `topic` are `want` (partition ->
// next offset) on every partition, as a client asking the coordinator through the gateway sees them.
bool wait_for_commits(const e2e_environment& env, const std::string& group, const std::string& topic,
                      const std::map<std::int32_t, std::int64_t>& want, std::initializer_list<child_process*> children,
                      clock::time_point deadline) {
  consumer probe(env.bootstrap(), group);
  for (;;) {
    if (probe.committed(topic, partitions, 5s) == want) return true;
    if (clock::now() >= deadline) return false;
    pump_until(children, [] { return false; }, std::min(deadline, clock::now() + 200ms));
  }
}

std::map<std::int32_t, std::int64_t> next_offsets(const std::vector<record>& records) {
  std::map<std::int32_t, std::int64_t> out;
  for (const auto& r : records) out[r.partition] = std::max(out[r.partition], r.offset + 1);
  return out;
}

std::string kcat_input(const std::vector<key_value>& payloads) {
  std::string input;
  for (const auto& [k, v] : payloads) input += k + "=" + v + "\n";
  return input;
}

// kcat -P -K = with the given extra flags; returns the process result.
process_result kcat_produce(const e2e_environment& env, const std::string& topic,
                            const std::vector<key_value>& payloads, args extra = {}) {
  args a{"-P", "-t", topic, "-K", "=", "-X", "message.timeout.ms=20000"};
  a.insert(a.end(), extra.begin(), extra.end());
  return run_process(kcat(env, a), kcat_input(payloads), 45s);
}

// The broker holds each payload exactly once, unaltered, spread over every partition.
broker_contents require_stored(const e2e_environment& env, const std::string& topic,
                               const std::vector<key_value>& payloads, clock::time_point deadline) {
  auto stored = read_from_broker(env.cluster(), topic, partitions, deadline, payloads.size());
  INFO(stored.error);
  REQUIRE(stored.error.empty());
  CHECK(compare_records(keys_and_values(payloads), keys_and_values(stored.records)) == "");
  CHECK(partitions_of(stored.records).size() == partitions);  // keys spread over all partitions
  return stored;
}

}  // namespace

TEST_CASE("kcat: metadata lists only gateway addresses", "[e2e][kcat]") {
  // docker/setup.sh installs kcat: its absence is a failure, not a skip.
  REQUIRE(have_kcat());
  e2e_environment env({{"inventory", 6}});
  auto r = run_process({KGW_E2E_KCAT, "-b", env.bootstrap(), "-L", "-m", "10"}, "", 30s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);

  // "  broker 2 at 127.0.0.1:19095" (kcat 1.7 also prints " (controller)" for the controller)
  const std::regex broker_line(R"(^\s*broker (-?\d+) at ([^:\s]+):(\d+))");
  std::set<int> ids;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_search(l, m, broker_line)) continue;
    ids.insert(std::stoi(m[1]));
    const int port = std::stoi(m[3]);
    INFO(l);
    if (env.through_gateway()) {
      CHECK(m[2] == e2e_environment::advertised_host);
      CHECK(port >= env.broker_port_first());
      CHECK(port <= env.broker_port_last());
    }
  }
  CHECK(ids == std::set<int>{1, 2, 3});
  CHECK(r.out.find("topic \"inventory\" with 6 partitions") != std::string::npos);
  if (env.through_gateway())
    for (std::uint16_t upstream : env.cluster().broker_ports())
      CHECK(r.out.find(":" + std::to_string(upstream)) == std::string::npos);
  env.require_no_upstream_addresses();
}

TEST_CASE("kcat: produce with -P, consume with -C -e", "[e2e][kcat]") {
  // docker/setup.sh installs kcat: its absence is a failure, not a skip.
  REQUIRE(have_kcat());
  e2e_environment env({{"events", 6}});
  std::string input;
  std::set<std::string> want;
  for (int i = 0; i < 500; ++i) {
    std::string line = "key-" + std::to_string(i) + "=value-" + std::to_string(i) + "-kcat";
    input += line + "\n";
    want.insert(line);
  }
  auto produce = run_process({KGW_E2E_KCAT, "-b", env.bootstrap(), "-P", "-t", "events", "-K", "=", "-X",
                              "message.timeout.ms=20000"},
                             input, 45s);
  INFO("produce: " << produce.describe());
  REQUIRE(produce.exit_code == 0);

  auto consume = run_process({KGW_E2E_KCAT, "-b", env.bootstrap(), "-C", "-t", "events", "-o", "beginning", "-e", "-q",
                              "-f", "%k=%s\\n"},
                             "", 45s);
  INFO("consume: " << consume.describe());
  REQUIRE(consume.exit_code == 0);
  const auto got = lines(consume.out);
  CHECK(got.size() == want.size());
  CHECK(got == want);
  env.require_no_upstream_addresses();
}

TEST_CASE("kcat: 10,000 keyed records reach two consumer groups byte-identical", "[e2e][kcat][group]") {
  REQUIRE(have_kcat());
  e2e_environment env({{"kc-orders", partitions}});
  const auto deadline = clock::now() + 90s;
  const auto payloads = keyed_payloads("kc-orders", 10'000, 200);
  const auto produce = kcat_produce(env, "kc-orders", payloads, {"-X", "acks=all"});
  INFO("produce: " << produce.describe());
  REQUIRE(produce.exit_code == 0);
  const auto stored = require_stored(env, "kc-orders", payloads, deadline);

  // Both groups at once: each joins (the mock holds a new group's first join ~3 s) and reads
  // every partition to its end (-e), then commits and leaves.
  child_process a(kcat(env, group_consumer("kc-group-a", "kc-orders", {"-e"})), "");
  child_process b(kcat(env, group_consumer("kc-group-b", "kc-orders", {"-e"})), "");
  pump_until({&a, &b}, [&] { return !a.running() && !b.running(); }, deadline);
  for (auto* c : {&a, &b}) {
    const auto& r = c->finish(deadline);
    INFO((c == &a ? "kc-group-a: " : "kc-group-b: ") << r.describe());
    REQUIRE(r.exit_code == 0);
    CHECK(assignments(r.err).size() == 1);  // one member, one assignment: no rebalance mid-way
    CHECK(compare_records(stored.records, parse_records(r.out)) == "");
  }
  env.require_no_upstream_addresses();
}

TEST_CASE("kcat: two consumers in a group split the partitions and the survivor takes over when one leaves",
          "[e2e][kcat][group]") {
  REQUIRE(have_kcat());
  e2e_environment env({{"kc-split", partitions}});
  const auto deadline = clock::now() + 90s;

  // Auto commits every 100 ms (librdkafka makes the first ~2 s after the assignment): the mock
  // refuses the commit a member makes while its partitions are revoked (REBALANCE_IN_PROGRESS),
  // so the survivor resumes its own partitions from its last automatic commit.
  const args commit_often{"-X", "auto.commit.interval.ms=100"};
  child_process a(kcat(env, group_consumer("kc-split-group", "kc-split", commit_often)), "");
  child_process b(kcat(env, group_consumer("kc-split-group", "kc-split", commit_often)), "");
  std::set<int> share_a, share_b;
  // The group settles first: two members joining together may go through more than one
  // rebalance, and a member whose partitions are revoked before its first automatic commit
  // would legitimately read them again from the start (seen once in CI: 1509 duplicates).
  // Only a split that has held for a second counts, and only then are records written.
  auto split_now = [&] {
    share_a = last_assignment(a);
    share_b = last_assignment(b);
    std::set<int> all(share_a);
    all.insert(share_b.begin(), share_b.end());
    return !share_a.empty() && !share_b.empty() && all.size() == partitions &&
           share_a.size() + share_b.size() == partitions;
  };
  bool settled = false;
  while (!settled && clock::now() < deadline) {
    if (!pump_until({&a, &b}, split_now, deadline)) break;
    const auto held_a = share_a, held_b = share_b;
    pump_until({&a, &b}, [] { return false; }, std::min(deadline, clock::now() + 1s));
    settled = split_now() && share_a == held_a && share_b == held_b;
  }
  INFO("a: " << a.err() << "\nb: " << b.err());
  REQUIRE(settled);

  const auto first = keyed_payloads("kc-split-1", 3000);
  auto produce = kcat_produce(env, "kc-split", first);
  INFO("produce 1: " << produce.describe());
  REQUIRE(produce.exit_code == 0);
  const auto stored_first = require_stored(env, "kc-split", first, deadline);
  const bool split = pump_until(
      {&a, &b}, [&] { return split_now() && complete_lines(a.out()) + complete_lines(b.out()) >= first.size(); },
      deadline);
  INFO("a: " << a.err() << "\nb: " << b.err());
  INFO("a consumed " << complete_lines(a.out()) << ", b consumed " << complete_lines(b.out()));
  REQUIRE(split);
  // Both positions committed (automatically) before anyone leaves.
  const bool committed =
      wait_for_commits(env, "kc-split-group", "kc-split", next_offsets(stored_first.records), {&a, &b}, deadline);
  INFO("a: " << a.err() << "\nb: " << b.err());
  REQUIRE(committed);

  // a leaves (SIGTERM: kcat commits and sends LeaveGroup); b must take over every partition,
  // resuming a's from a's commits.
  a.signal(SIGTERM);
  const auto& left = a.finish(deadline);
  INFO("a: " << left.describe());
  REQUIRE(left.exit_code == 0);
  const std::string b_before = b.out().substr(0, b.out().rfind('\n') + 1);
  const bool took_over = pump_until({&b}, [&] { return last_assignment(b).size() == partitions; }, deadline);
  INFO("b: " << b.err());
  REQUIRE(took_over);

  // Only now the second batch: a record b fetched just before its partitions were revoked would
  // legitimately come again (its commit being refused) and blur the duplicate check.
  const auto second = keyed_payloads("kc-split-2", 3000);
  produce = kcat_produce(env, "kc-split", second);
  INFO("produce 2: " << produce.describe());
  REQUIRE(produce.exit_code == 0);
  auto both_batches = first;
  both_batches.insert(both_batches.end(), second.begin(), second.end());
  const auto stored = require_stored(env, "kc-split", both_batches, deadline);
  const auto consumed = [&] { return complete_lines(a.out()) + complete_lines(b.out()); };
  pump_until({&b}, [&] { return consumed() >= stored.records.size(); }, deadline);
  // Keep reading a little: a duplicate would come now.
  pump_until({&b}, [] { return false; }, std::min(deadline, clock::now() + 500ms));
  b.signal(SIGTERM);
  const auto& survivor = b.finish(deadline);
  INFO("b: " << survivor.describe());
  CHECK(survivor.exit_code == 0);

  const auto got_a = parse_records(a.out()), got_b_before = parse_records(b_before), got_b = parse_records(b.out());
  // Each member consumed only its own share before a left, and both did work.
  CHECK(!got_a.empty());
  CHECK(!got_b_before.empty());
  auto outside = [](const std::vector<record>& got, const std::set<int>& share) {
    return std::count_if(got.begin(), got.end(), [&](const record& r) { return share.count(r.partition) == 0; });
  };
  CHECK(outside(got_a, share_a) == 0);
  CHECK(outside(got_b_before, share_b) == 0);
  // No record lost, altered or delivered twice across the rebalance.
  auto all = got_a;
  all.insert(all.end(), got_b.begin(), got_b.end());
  CHECK(compare_records(stored.records, all) == "");
  // b really consumed a's former partitions.
  const std::vector<record> got_b_after(got_b.begin() + static_cast<std::ptrdiff_t>(got_b_before.size()), got_b.end());
  CHECK(outside(got_b_after, share_b) > 0);
  env.require_no_upstream_addresses();
}

TEST_CASE("kcat: committed offsets survive a consumer restart", "[e2e][kcat][group]") {
  REQUIRE(have_kcat());
  e2e_environment env({{"kc-ledger", partitions}});
  const auto deadline = clock::now() + 90s;
  const auto payloads = keyed_payloads("kc-ledger", 1200);
  const auto produce = kcat_produce(env, "kc-ledger", payloads);
  INFO("produce: " << produce.describe());
  REQUIRE(produce.exit_code == 0);
  const auto stored = require_stored(env, "kc-ledger", payloads, deadline);

  // First run: -c 500 exits after 500 records and commits exactly those on close.
  const auto first = run_process(kcat(env, group_consumer("kc-ledger-group", "kc-ledger", {"-c", "500"})), "", 60s);
  INFO("first: " << first.describe());
  REQUIRE(first.exit_code == 0);
  const auto first_run = parse_records(first.out);
  REQUIRE(first_run.size() == 500);
  const auto commits = next_offsets(first_run);
  {
    // What the coordinator holds, asked through the gateway by another client.
    consumer probe(env.bootstrap(), "kc-ledger-group");
    const auto held = probe.committed("kc-ledger", partitions, 10s);
    for (int p = 0; p < partitions; ++p) {
      INFO("partition " << p);
      CHECK(held.count(p) == 1);
      if (held.count(p)) CHECK(held.at(p) == (commits.count(p) ? commits.at(p) : -1001));  // -1001: none
    }
  }

  // Second run, same group: starts exactly at the commits (0 where none) and reads the rest once.
  const auto second = run_process(kcat(env, group_consumer("kc-ledger-group", "kc-ledger", {"-e"})), "", 60s);
  INFO("second: " << second.describe());
  REQUIRE(second.exit_code == 0);
  std::vector<record> rest;
  for (const auto& r : stored.records)
    if (r.offset >= (commits.count(r.partition) ? commits.at(r.partition) : 0)) rest.push_back(r);
  REQUIRE(rest.size() == stored.records.size() - first_run.size());
  CHECK(compare_records(rest, parse_records(second.out)) == "");
  env.require_no_upstream_addresses();
}

TEST_CASE("kcat: acks=0 records arrive", "[e2e][kcat][acks0]") {
  REQUIRE(have_kcat());
  e2e_environment env({{"kc-telemetry", partitions}});
  const auto deadline = clock::now() + 60s;
  const auto payloads = keyed_payloads("kc-telemetry", 2000);
  const auto produce = kcat_produce(env, "kc-telemetry", payloads, {"-X", "acks=0"});
  INFO("produce: " << produce.describe());
  REQUIRE(produce.exit_code == 0);
  const auto stored = require_stored(env, "kc-telemetry", payloads, deadline);

  const auto consume =
      run_process(kcat(env, {"-C", "-t", "kc-telemetry", "-o", "beginning", "-e", "-q", "-f", record_format}), "", 45s);
  INFO("consume: " << consume.describe());
  REQUIRE(consume.exit_code == 0);
  CHECK(compare_records(stored.records, parse_records(consume.out)) == "");
  env.require_no_upstream_addresses();
}

TEST_CASE("kcat: idempotent producer", "[e2e][kcat][idempotence]") {
  REQUIRE(have_kcat());
  e2e_environment env({{"kc-payments", partitions}});
  const auto deadline = clock::now() + 60s;
  const auto payloads = keyed_payloads("kc-payments", 3000);
  // InitProducerId goes through the gateway; every record must be stored exactly once.
  const auto produce = kcat_produce(
      env, "kc-payments", payloads,
      {"-X", "enable.idempotence=true", "-X", "max.in.flight.requests.per.connection=5", "-d", "eos"});
  INFO("produce: " << produce.describe());
  REQUIRE(produce.exit_code == 0);
  CHECK(produce.err.find("Acquired PID{Id:") != std::string::npos);  // really idempotent (debug=eos)
  const auto stored = require_stored(env, "kc-payments", payloads, deadline);

  const auto consume =
      run_process(kcat(env, {"-C", "-t", "kc-payments", "-o", "beginning", "-e", "-q", "-f", record_format}), "", 45s);
  INFO("consume: " << consume.describe());
  REQUIRE(consume.exit_code == 0);
  CHECK(compare_records(stored.records, parse_records(consume.out)) == "");
  env.require_no_upstream_addresses();
}

}  // namespace kgw::e2e

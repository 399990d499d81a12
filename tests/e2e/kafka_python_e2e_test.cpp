// End-to-end: kafka-python 2.0.2 (pure Python, its own protocol code) through the gateway, via
// kafka_python_client.py run by the system Python (one scenario per run, --mode).
//
// kafka-python 2.0.2 has no idempotent producer (no enable_idempotence, no InitProducerId), so
// the idempotence scenario has no kafka-python test.
//
// The newer tests compare records exactly (partition, offset, key, value, and how often) with
// what the broker stores, read straight from the mock (broker_contents.h), and keys and values
// with the payloads made here (the script makes the same ones).
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
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

bool have_python() { return ::access(KGW_E2E_PYTHON, X_OK) == 0; }

// What kafka_python_client.py printed (see its docstring for the line format).
struct python_run {
  std::vector<record> produced;                                   // P
  std::map<std::string, std::vector<record>> consumed;            // C, by consumer label
  std::map<std::string, std::vector<std::set<int>>> assignments;  // G, by consumer label, in order
  std::map<std::string, std::set<int>> shares;                    // S, by consumer label
  std::set<std::string> events;                                   // E
  std::map<int, long long> committed;                             // K
  long long restarted_got = -2;                                   // R
  std::string version;                                            // V
  bool done = false;

  std::vector<record> consumed_by(const std::string& label) const {
    auto it = consumed.find(label);
    return it == consumed.end() ? std::vector<record>{} : it->second;
  }
};

python_run parse(const std::string& out) {
  python_run run;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string tag;
    f >> tag;
    if (tag == "P") {
      record r;
      f >> r.partition >> r.offset >> r.key >> r.value;
      run.produced.push_back(std::move(r));
    } else if (tag == "C") {
      std::string label;
      record r;
      f >> label >> r.partition >> r.offset >> r.key >> r.value;
      run.consumed[label].push_back(std::move(r));
    } else if (tag == "G" || tag == "S") {
      std::string label, list;
      f >> label >> list;
      std::set<int> parts;
      std::istringstream l(list);
      for (std::string p; std::getline(l, p, ',');) parts.insert(std::stoi(p));
      if (tag == "G")
        run.assignments[label].push_back(std::move(parts));
      else
        run.shares[label] = std::move(parts);
    } else if (tag == "E") {
      std::string event;
      f >> event;
      run.events.insert(event);
    } else if (tag == "K") {
      int p;
      std::string o;
      f >> p >> o;
      run.committed[p] = o == "None" ? -1 : std::stoll(o);
    } else if (tag == "R") {
      f >> run.restarted_got;
    } else if (tag == "V") {
      f >> run.version;
    } else if (tag == "DONE") {
      run.done = true;
    }
  }
  return run;
}

// Runs one scenario; "auto": kafka-python probes ApiVersions through the gateway (it settles on
// 2.3.0 against the mock). Pins 2.3.0, 2.0.0, 1.0.0 and 0.11.0 work as well; 1.1.0 does not (the
// mock's Produce v5 response lacks log_start_offset) and neither does 0.10.2.
process_result run_python(const e2e_environment& env, const std::string& topic, std::vector<std::string> args,
                          std::chrono::seconds timeout) {
  std::vector<std::string> argv{KGW_E2E_PYTHON, "-B", KGW_E2E_SCRIPTS "/kafka_python_client.py"};
  argv.insert(argv.end(), {"--bootstrap", env.bootstrap(), "--topic", topic, "--api-version", "auto", "--partitions",
                           std::to_string(partitions)});
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, "", timeout);
}

std::set<int> partitions_of(const std::vector<record>& v) {
  std::set<int> out;
  for (const auto& r : v) out.insert(r.partition);
  return out;
}

// The broker holds each payload exactly once, unaltered, spread over every partition.
broker_contents require_stored(const e2e_environment& env, const std::string& topic,
                               const std::vector<key_value>& payloads, clock::time_point deadline) {
  auto stored = read_from_broker(env.cluster(), topic, partitions, deadline, payloads.size());
  INFO(stored.error);
  REQUIRE(stored.error.empty());
  CHECK(compare_records(keys_and_values(payloads), keys_and_values(stored.records)) == "");
  CHECK(partitions_of(stored.records).size() == partitions);
  return stored;
}

}  // namespace

TEST_CASE("kafka-python: produce, consume in a group with commits, resume after restart", "[e2e][kafka-python]") {
  // docker/setup.sh installs python3-kafka: its absence is a failure, not a skip.
  REQUIRE(have_python());
  constexpr int count = 300;
  e2e_environment env({{"py-orders", 6}});
  auto r = run_python(env, "py-orders",
                      {"--mode", "roundtrip", "--group", "py-group", "--count", std::to_string(count), "--timeout",
                       "30", "--session-timeout-ms", "3000"},
                      100s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  const auto run = parse(r.out);
  REQUIRE(run.done);
  INFO("kafka-python api_version " << run.version);
  CHECK(run.produced.size() == count);
  // Same partition, offset, key and value, each once.
  CHECK(compare_records(run.produced, run.consumed_by("first")) == "");
  std::map<int, long long> next_offset;  // what the commit must be: last offset + 1
  for (const auto& r : run.produced)
    next_offset[r.partition] = std::max<long long>(next_offset[r.partition], r.offset + 1);
  for (auto& [p, o] : run.committed)
    if (!next_offset.count(p)) next_offset[p] = -1;  // nothing produced there: no commit
  CHECK(run.committed == next_offset);
  CHECK(run.restarted_got == 0);  // the restarted member joined and resumed after the commit
  env.require_no_upstream_addresses();
}

TEST_CASE("kafka-python: 10,000 keyed records reach two consumer groups byte-identical", "[e2e][kafka-python][group]") {
  REQUIRE(have_python());
  e2e_environment env({{"kp-orders", partitions}});
  const auto deadline = clock::now() + 90s;
  auto r = run_python(env, "kp-orders",
                      {"--mode", "groups", "--groups", "kp-group-a,kp-group-b", "--count", "10000", "--prefix",
                       "kp-orders", "--session-timeout-ms", "3000", "--timeout", "60"},
                      80s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  const auto run = parse(r.out);
  REQUIRE(run.done);
  const auto stored = require_stored(env, "kp-orders", keyed_payloads("kp-orders", 10'000), deadline);
  // Produce responses reported where each record went.
  CHECK(compare_records(stored.records, run.produced) == "");
  for (const char* group : {"kp-group-a", "kp-group-b"}) {
    INFO(group);
    CHECK(compare_records(stored.records, run.consumed_by(group)) == "");
  }
  env.require_no_upstream_addresses();
}

TEST_CASE("kafka-python: two consumers split the partitions and the survivor takes over when one leaves",
          "[e2e][kafka-python][group]") {
  REQUIRE(have_python());
  e2e_environment env({{"kp-split", partitions}});
  const auto deadline = clock::now() + 90s;
  auto r = run_python(env, "kp-split",
                      {"--mode", "split", "--group", "kp-split-group", "--count", "3000", "--prefix", "kp-split",
                       "--session-timeout-ms", "3000", "--timeout", "70"},
                      85s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  auto run = parse(r.out);
  REQUIRE(run.done);
  CHECK(run.events == std::set<std::string>{"a-left", "b-took-over"});

  auto payloads = keyed_payloads("kp-split-1", 3000);
  const auto second = keyed_payloads("kp-split-2", 3000);
  payloads.insert(payloads.end(), second.begin(), second.end());
  const auto stored = require_stored(env, "kp-split", payloads, deadline);
  CHECK(compare_records(stored.records, run.produced) == "");

  // a's and b's shares when the first batch was produced split the partitions; b ends up with all.
  REQUIRE(!run.assignments["b"].empty());
  const auto share_a = run.shares["a"], share_b = run.shares["b"];
  std::set<int> all(share_a);
  all.insert(share_b.begin(), share_b.end());
  INFO("a has " << share_a.size() << " partitions, b " << share_b.size());
  CHECK(!share_a.empty());
  CHECK(!share_b.empty());
  CHECK(all.size() == partitions);
  CHECK(share_a.size() + share_b.size() == partitions);
  CHECK(run.assignments["b"].back().size() == partitions);

  // Before a left, each consumed only its own share, and both did work.
  const auto got_a = run.consumed_by("a"), got_b = run.consumed_by("b"), got_b_after = run.consumed_by("b-after");
  CHECK(!got_a.empty());
  CHECK(!got_b.empty());
  auto outside = [](const std::vector<record>& got, const std::set<int>& share) {
    return std::count_if(got.begin(), got.end(), [&](const record& rec) { return share.count(rec.partition) == 0; });
  };
  CHECK(outside(got_a, share_a) == 0);
  CHECK(outside(got_b, share_b) == 0);
  // No record lost, altered or delivered twice across the rebalance (both committed first).
  std::vector<record> everything(got_a);
  everything.insert(everything.end(), got_b.begin(), got_b.end());
  everything.insert(everything.end(), got_b_after.begin(), got_b_after.end());
  CHECK(compare_records(stored.records, everything) == "");
  // b really consumed a's former partitions.
  CHECK(outside(got_b_after, share_b) > 0);
  env.require_no_upstream_addresses();
}

TEST_CASE("kafka-python: acks=0 records arrive", "[e2e][kafka-python][acks0]") {
  REQUIRE(have_python());
  e2e_environment env({{"kp-telemetry", partitions}});
  const auto deadline = clock::now() + 60s;
  // Produce with acks=0, then read everything back through the gateway (partitions assigned, no
  // group), in one run. Straight to the mock (KGW_E2E_DIRECT=1) this fails: the mock answers
  // acks=0 Produce requests, kafka-python finds a response it never asked for ("Protocol out of
  // sync"), drops the connection and loses records. The gateway does not forward those answers.
  auto r = run_python(env, "kp-telemetry",
                      {"--mode", "produce", "--acks", "0", "--consume", "--count", "2000", "--prefix", "kp-telemetry",
                       "--timeout", "30"},
                      50s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  const auto run = parse(r.out);
  REQUIRE(run.done);
  const auto payloads = keyed_payloads("kp-telemetry", 2000);
  CHECK(compare_records(keys_and_values(payloads), keys_and_values(run.produced)) == "");  // all sent
  // acks=0: no answer, so no offset.
  CHECK(std::count_if(run.produced.begin(), run.produced.end(), [](const record& rec) { return rec.offset != -1; }) ==
        0);
  const auto stored = require_stored(env, "kp-telemetry", payloads, deadline);
  CHECK(compare_records(stored.records, run.consumed_by("assigned")) == "");
  env.require_no_upstream_addresses();
}

}  // namespace kgw::e2e

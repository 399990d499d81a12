// Hot reload with real clients: the gateway runs from a configuration file (as `kafka-gateway
// --config FILE` does) in front of the embedded broker, and the file changes under open
// connections. reload_now() is what SIGHUP calls (tests/gateway/cli_test.sh sends the real
// signal to the real binary); watch() is --watch.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "config/loader.h"
#include "gateway/config_extensions.h"
#include "gateway/dev/embedded_cluster.h"
#include "gateway/gateway.h"
#include "gateway/reloader.h"
#include "policies/decision.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/file_gateway.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/secure_environment.h"

namespace kgw::e2e {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string nothing(std::uint16_t) { return ""; }

std::string customer(int id) {
  return R"({"id":)" + std::to_string(id) + R"(,"email":"user)" + std::to_string(id) + R"(@example.com"})";
}

// Produces `bursts` x `per_burst` customers; each burst is flushed on its own, so it lands as one
// batch per partition.
void produce_customers(const std::string& bootstrap, int bursts, int per_burst) {
  producer p(bootstrap, {{"linger.ms", "50"}});
  for (int b = 0; b < bursts; ++b) {
    std::vector<key_value> recs;
    for (int i = 0; i < per_burst; ++i) {
      const int id = b * per_burst + i;
      recs.emplace_back("k" + std::to_string(id), customer(id));
    }
    const auto delivered = p.produce("customers", recs, clock::now() + 30s);
    REQUIRE(delivered.size() == recs.size());
  }
  REQUIRE(p.errors().empty());
}

int id_of(const std::string& value) {
  const auto at = value.find("\"id\":");
  REQUIRE(at != std::string::npos);
  return std::atoi(value.c_str() + at + 5);
}

// Which view a record went through: 0 full, 1 partial mask, 2 redacted.
int mode_of(const record& r) {
  if (r.value.find("\"user") != std::string::npos) return 0;
  if (r.value.find("***@example.com") != std::string::npos) return 1;
  if (r.value.find("[hidden]") != std::string::npos) return 2;
  FAIL("unexpected value " << r.value);
  return -1;
}

const std::string mask_partial = R"(
views:
  - everyone: true
    topics: [customers]
    mask:
      - { field: email, function: partial, keep_domain: true }
)";
const std::string mask_redact = R"(
views:
  - everyone: true
    topics: [customers]
    mask:
      - { field: email, function: redact, replacement: "[hidden]" }
)";

}  // namespace

TEST_CASE("reload: a consumer keeps its connections while its view goes from full to masked (SIGHUP, then --watch)",
          "[e2e][reload]") {
  file_gateway fg(nothing, "# no policies yet\n");
  constexpr int bursts = 40, per_burst = 50, total = bursts * per_burst;
  produce_customers(fg.bootstrap(), bursts, per_burst);

  // Small fetches and a small local queue: the consumer fetches many times, so the policies
  // change between its fetches.
  consumer c(fg.bootstrap(), "", {{"fetch.message.max.bytes", "2048"}, {"queued.max.messages.kbytes", "1"},
                                  {"fetch.wait.max.ms", "10"}});
  c.assign_all("customers", 2);
  std::vector<record> got;
  auto consume_until = [&](std::size_t n, std::chrono::seconds within = 60s) {
    consumer* cs[] = {&c};
    return poll_until(cs, [&](std::size_t, record&& r) { got.push_back(std::move(r)); },
                      [&] { return got.size() >= n; }, clock::now() + within);
  };
  REQUIRE(consume_until(total / 4));
  const int connections_before = fg.connections();

  fg.write_policies(mask_partial);
  const auto r = fg.reloader().reload_now("SIGHUP");
  INFO(r.message);
  REQUIRE(r.accepted);
  CHECK(r.generation == 2);
  CHECK(fg.gw().generation() == 2);
  REQUIRE(consume_until(total / 2));

  fg.reloader().watch(100ms);
  fg.write_policies(mask_redact);
  const auto deadline = clock::now() + 20s;
  while (fg.gw().generation() != 3 && clock::now() < deadline) std::this_thread::sleep_for(20ms);
  REQUIRE(fg.gw().generation() == 3);
  REQUIRE(consume_until(total));
  // A little longer: nothing more may come (no duplicates; a refetch would come at once).
  CHECK_FALSE(consume_until(total + 1, 3s));

  CHECK(c.errors().empty());
  CHECK(fg.connections() == connections_before);  // no reconnection
  REQUIRE(got.size() == static_cast<std::size_t>(total));
  std::set<std::pair<int, std::int64_t>> seen;
  std::map<int, int> last_mode;                     // partition -> mode of its latest record
  std::map<std::pair<int, int>, int> batch_mode;    // (partition, burst) -> mode
  std::set<int> modes;
  for (const auto& rec : got) {
    CHECK(seen.emplace(rec.partition, rec.offset).second);
    const int mode = mode_of(rec);
    modes.insert(mode);
    // Views only ever move forward, and never within a batch.
    CHECK(mode >= last_mode[rec.partition]);
    last_mode[rec.partition] = mode;
    const auto [it, fresh] = batch_mode.emplace(std::pair{rec.partition, id_of(rec.value) / per_burst}, mode);
    if (!fresh) CHECK(it->second == mode);
  }
  CHECK(modes == std::set<int>{0, 1, 2});  // all three generations delivered records

  // The decision stream saw it: two accepted reloads, and masked records under generations 2
  // and 3 (generation 1 had no policy: its records were relayed ungoverned, no events).
  const auto reloads = fg.decisions().of(policies::decision_kind::reload);
  REQUIRE(reloads.size() == 2);
  CHECK((reloads[0].accepted && reloads[0].generation == 2 && reloads[1].accepted && reloads[1].generation == 3));
  std::map<std::uint64_t, std::uint64_t> masked;
  for (const auto& e : fg.decisions().of(policies::decision_kind::records)) {
    CHECK(e.resource == "customers");
    masked[e.generation] += e.counts[static_cast<std::size_t>(policies::tally::records_masked)];
  }
  CHECK(masked[1] == 0);
  CHECK(masked[2] > 0);
  CHECK(masked[3] > 0);
  CHECK(fg.gw().governance().records_masked == masked[2] + masked[3]);
}

TEST_CASE("reload: a file with errors or a restart-only change is rejected and the live policies keep serving",
          "[e2e][reload]") {
  file_gateway fg(nothing, mask_partial);
  produce_customers(fg.bootstrap(), 2, 10);

  // A policy that does not parse: rejected with its file:line:col, generation 1 serves on.
  fg.write_policies(mask_partial + "    where: id >\n");
  auto r = fg.reloader().reload_now("SIGHUP");
  CHECK_FALSE(r.accepted);
  CHECK(r.message.find("policies.yaml:") != std::string::npos);
  CHECK(fg.gw().generation() == 1);
  const auto rejected = fg.decisions().of(policies::decision_kind::reload);
  REQUIRE(rejected.size() == 1);
  CHECK_FALSE(rejected[0].accepted);
  CHECK(rejected[0].detail == r.message);

  // A listener or a limit change needs a restart: rejected whole, even with a valid new policy
  // beside it.
  fg.write_policies(mask_redact);
  fg.write_gateway("listeners:\n  - { name: other, listen: 127.0.0.1:" + std::to_string(fg.port() + 6) +
                   ", broker_ports: " + std::to_string(fg.port() + 7) + "-" + std::to_string(fg.port() + 11) + " }\n");
  r = fg.reloader().reload_now("SIGHUP");
  CHECK_FALSE(r.accepted);
  CHECK(r.message.find("needs a restart") != std::string::npos);
  CHECK(r.message.find("listeners") != std::string::npos);
  fg.write_gateway("", "  idle_timeout: 1m\n");
  r = fg.reloader().reload_now("SIGHUP");
  CHECK_FALSE(r.accepted);
  CHECK(r.message.find("gateway.idle_timeout") != std::string::npos);
  CHECK(fg.gw().generation() == 1);

  consumer c(fg.bootstrap(), "");
  c.assign_all("customers", 2);
  std::vector<record> got;
  consumer* cs[] = {&c};
  REQUIRE(poll_until(cs, [&](std::size_t, record&& rec) { got.push_back(std::move(rec)); },
                     [&] { return got.size() >= 20; }, clock::now() + 30s));
  for (const auto& rec : got) CHECK(mode_of(rec) == 1);  // still generation 1's view

  // The same file again is no new generation.
  fg.write_gateway("");
  fg.write_policies(mask_partial);
  r = fg.reloader().reload_now("SIGHUP");
  CHECK(r.accepted);
  CHECK(r.unchanged);
  CHECK(fg.gw().generation() == 1);
}

TEST_CASE("reload: a principal added by reload logs in, a removed one cannot", "[e2e][reload]") {
  auto listener = [](std::uint16_t port) {
    return "listeners:\n  - name: sasl\n    listen: 127.0.0.1:" + std::to_string(port + 6) +
           "\n    broker_ports: " + std::to_string(port + 7) + "-" + std::to_string(port + 11) +
           "\n    security_protocol: SASL_PLAINTEXT\n    sasl: { mechanisms: [PLAIN, SCRAM-SHA-512] }\n";
  };
  auto principal = [](const std::string& name, const std::string& password) {
    return "  " + name + ":\n    credentials: [\"" + stored_credential("SCRAM-SHA-512", password) + "\"]\n";
  };
  const std::string alice = principal("alice", "alice-secret"), bob = principal("bob", "bob-secret");
  file_gateway fg([&](std::uint16_t port) { return listener(port) + "principals:\n" + alice; }, "# none\n");
  const std::string bootstrap = "127.0.0.1:" + std::to_string(fg.port() + 6);
  // Logs in (and reads the watermarks) as user/password: true on success.
  auto login = [&](const std::string& user, const std::string& password, std::vector<std::string>& errors) {
    consumer c(bootstrap, "", {{"security.protocol", "SASL_PLAINTEXT"}, {"sasl.mechanism", "SCRAM-SHA-512"},
                               {"sasl.username", user}, {"sasl.password", password}});
    const bool ok = !c.watermarks("customers", 2, 5s).empty();
    c.poll(200ms);  // serves the error callback
    errors = c.client_errors();
    return ok;
  };
  std::vector<std::string> errors;
  CHECK(login("alice", "alice-secret", errors));
  CHECK_FALSE(login("bob", "bob-secret", errors));

  // An open connection of alice's stays (as on a broker, until it re-authenticates).
  consumer open(bootstrap, "", {{"security.protocol", "SASL_PLAINTEXT"}, {"sasl.mechanism", "PLAIN"},
                                {"sasl.username", "alice"}, {"sasl.password", "alice-secret"}});
  REQUIRE_FALSE(open.watermarks("customers", 2, 5s).empty());

  fg.write_gateway(listener(fg.port()) + "principals:\n" + bob);
  const auto r = fg.reloader().reload_now("SIGHUP");
  INFO(r.message);
  REQUIRE(r.accepted);
  CHECK(login("bob", "bob-secret", errors));
  CHECK_FALSE(login("alice", "alice-secret", errors));
  bool auth_error = false;
  INFO("alice's errors: " << errors.size());
  for (const auto& e : errors) auth_error = auth_error || e.find("uthentication") != std::string::npos;
  CHECK(auth_error);
  CHECK_FALSE(open.watermarks("customers", 2, 5s).empty());
  // Decisions: bob authenticated under generation 2; alice's logins after it failed.
  bool bob_in = false;
  for (const auto& e : fg.decisions().of(policies::decision_kind::authenticated))
    bob_in = bob_in || (e.principal == "bob" && e.generation == 2);
  CHECK(bob_in);
  bool alice_failed = false;
  for (const auto& e : fg.decisions().of(policies::decision_kind::authentication_failed))
    alice_failed = alice_failed || (e.generation == 2 && e.detail.find("invalid credentials") != std::string::npos);
  CHECK(alice_failed);
}

TEST_CASE("reload: Read revoked by reload is TOPIC_AUTHORIZATION_FAILED at the next Fetch", "[e2e][reload]") {
  const std::string read_allowed = R"(
acls:
  - everyone: true
    allow: [Read, Write, Describe]
    topics: [customers]
  - everyone: true
    allow: [Read]
    groups: ["*"]
)";
  const std::string describe_only = R"(
acls:
  - everyone: true
    allow: [Write, Describe]
    topics: [customers]
  - everyone: true
    allow: [Read]
    groups: ["*"]
)";
  file_gateway fg(nothing, read_allowed);
  produce_customers(fg.bootstrap(), 1, 10);
  consumer c(fg.bootstrap(), "", {{"fetch.wait.max.ms", "100"}});
  c.assign_all("customers", 2);
  std::vector<record> got;
  consumer* cs[] = {&c};
  REQUIRE(poll_until(cs, [&](std::size_t, record&& rec) { got.push_back(std::move(rec)); },
                     [&] { return got.size() >= 10; }, clock::now() + 30s));
  CHECK(c.errors().empty());
  const int connections_before = fg.connections();

  fg.write_policies(describe_only);
  const auto r = fg.reloader().reload_now("SIGHUP");
  INFO(r.message);
  REQUIRE(r.accepted);
  auto denied = [&] {
    for (const auto& e : c.errors())
      if (e.find("uthorization") != std::string::npos) return true;
    return false;
  };
  poll_until(cs, [&](std::size_t, record&& rec) { got.push_back(std::move(rec)); }, denied, clock::now() + 30s);
  for (const auto& e : c.errors()) INFO(e);
  CHECK(denied());
  CHECK(got.size() == 10);  // nothing after the revocation
  CHECK(fg.connections() == connections_before);  // denied on the connection it had
  // The denial is a decision: Fetch, topic customers, TOPIC_AUTHORIZATION_FAILED, generation 2.
  bool fetch_denied = false;
  for (const auto& e : fg.decisions().of(policies::decision_kind::denied))
    fetch_denied = fetch_denied || (e.api_key == 1 && e.resource_type == "topic" && e.resource == "customers" &&
                                    e.error == 29 && e.generation == 2 && e.principal == "ANONYMOUS");
  CHECK(fetch_denied);
  CHECK(fg.decisions().of(policies::decision_kind::denied).front().generation == 2);  // none before
}

}  // namespace kgw::e2e

// Quotas: the rate window measures and throttles as Kafka's Rate and QuotaUtils do, the book picks
// the rule Kafka's precedence would and divides by the instances, and the section reader is strict.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "config/loader.h"
#include "policies/quota/connection_limits.h"
#include "policies/quota/quota_book.h"
#include "policies/quota/quota_config.h"
#include "policies/quota/rate_window.h"
#include "tests/support/with_policies.h"

namespace q = kgw::policies::quota;
using kgw::policies::quota_section;
using namespace std::chrono_literals;

TEST_CASE("quota: a rate counts at least samples - 1 windows, then the time its samples span") {
  q::rate_window w(11, 1000ms);
  const auto t0 = q::rate_window::clock::now();
  // 10 MB at once: divided by 10 windows (not by the few ms since), as Kafka's Rate does.
  w.record(t0, 10'000'000);
  CHECK(w.rate(t0) == Approx(1'000'000).epsilon(0.1));
  // A steady 1 MB per window for 30 windows reads as 1 MB/s.
  q::rate_window steady(11, 1000ms);
  for (int i = 0; i < 30; ++i) steady.record(t0 + i * 1000ms + 1ms, 1'000'000);
  CHECK(steady.rate(t0 + 29'500ms) == Approx(1'000'000).epsilon(0.12));
  // Samples older than the window no longer count.
  CHECK(steady.rate(t0 + 60'000ms) == 0);
}

TEST_CASE("quota: throttle time is (observed - quota) / quota x window") {
  q::rate_window w(11, 1000ms);
  const auto t0 = q::rate_window::clock::now();
  w.record(t0, 2'000'000);  // over 10 windows: 200 kB/s
  CHECK(w.throttle(t0, 400'000).count() == 0);  // within
  // Quota 100 kB/s: O = 2x Q, so X = (O - Q)/Q x span ~ span (about 10 s).
  const auto t = w.throttle(t0, 100'000);
  CHECK(t.count() >= 9'500);
  CHECK(t.count() <= 11'000);
  // Far over: as long as it takes (Kafka does not cap byte-rate throttles at the window).
  w.record(t0, 48'000'000);  // 50 MB over 10 s: 5 MB/s against 100 kB/s
  CHECK(w.throttle(t0, 100'000).count() == Approx(490'000).epsilon(0.05));
}

TEST_CASE("quota: recording from many threads loses nothing") {
  q::rate_window w(11, 1000ms);
  const auto t0 = q::rate_window::clock::now();
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) w.record(t0, 10);
    });
  for (auto& t : threads) t.join();
  // 4 MB over at least 10 windows of 1 s.
  const double r = w.rate(t0);
  CHECK(r * 10 == Approx(4'000'000).epsilon(0.11));
}

namespace {
std::shared_ptr<const quota_section> quotas_of(const std::string& body) {
  auto c = kgw::config::load_string("upstream: { bootstrap: [k:9092] }\npolicies:\n" + body, "gw.yaml",
                                    kgw::testing::with_policies());
  INFO((c ? std::string() : c.error()));
  REQUIRE(c);
  return c->policies.section<quota_section>();
}
std::string error_of(const std::string& body) {
  auto c = kgw::config::load_string("upstream: { bootstrap: [k:9092] }\npolicies:\n" + body, "gw.yaml",
                                    kgw::testing::with_policies());
  if (c) FAIL("expected an error for:\n" << body);
  return c.error();
}
}  // namespace

TEST_CASE("quota: the principal's own rule, then its team's, then everyone's; divided by instances") {
  const auto s = quotas_of(R"(  quotas:
    instances: 2
    window: { samples: 5, size: 2s }
    rules:
      - everyone: true
        produce_bytes_per_second: 1MiB
        fetch_bytes_per_second: 4MiB
      - teams: [analytics]
        fetch_bytes_per_second: 2MiB
      - principals: [ingest]
        produce_bytes_per_second: 10MiB
)");
  CHECK(s->instances == 2);
  CHECK(s->samples == 5);
  CHECK(s->window == 2s);
  q::quota_meters meters;
  q::quota_book book(*s, meters);
  auto ingest = book.for_principal("ingest");
  REQUIRE(ingest);
  CHECK(ingest->produce->per_second == 10.0 * (1 << 20) / 2);
  CHECK(ingest->fetch->per_second == 4.0 * (1 << 20) / 2);  // no own fetch rule: everyone's
  CHECK(ingest->produce->at.line == 12);  // the rule naming ingest
  kgw::config::principal_config ana;
  ana.name = "ana";
  ana.teams = {"analytics"};
  auto a = book.for_principal(ana);
  CHECK(a->fetch->per_second == 2.0 * (1 << 20) / 2);
  CHECK(a->produce->per_second == 1.0 * (1 << 20) / 2);
  CHECK(a->fetch->meter->samples() == 5);
  // One principal, one meter per kind, across lookups (and generations).
  CHECK(book.for_principal("ingest")->produce->meter == ingest->produce->meter);
  CHECK(book.for_principal("other")->produce->meter != ingest->produce->meter);
  // Nothing applies: no quotas at all.
  const auto only_team = quotas_of("  quotas:\n    rules:\n      - teams: [x]\n        fetch_bytes_per_second: 1KiB\n");
  q::quota_book b2(*only_team, meters);
  CHECK_FALSE(b2.for_principal("nobody"));
}

TEST_CASE("quota: the section reader is strict") {
  CHECK(error_of("  quotas:\n    rules:\n      - everyone: true\n").find(
            "a quota rule needs produce_bytes_per_second, fetch_bytes_per_second, requests_per_second, "
            "max_connections or connections_per_second") != std::string::npos);
  CHECK(error_of("  quotas:\n    rules:\n      - everyone: true\n        produce_bytes_per_second: 0\n")
            .find("must be more than 0") != std::string::npos);
  CHECK(error_of("  quotas:\n    rules:\n      - everyone: true\n        produce_bytes_per_second: fast\n")
            .starts_with("gw.yaml:6:35: quotas produce_bytes_per_second must be a size"));
  CHECK(error_of("  quotas:\n    instances: 0\n").find("quotas.instances") != std::string::npos);
  CHECK(error_of("  quotas:\n    window: { size: 10ms }\n").find("between 100ms and 1m") != std::string::npos);
  CHECK(error_of("  quotas:\n    rate: 1\n").find("unknown key 'rate'") != std::string::npos);
}

TEST_CASE("quota: connection limits count open connections and new ones per second") {
  q::connection_limits limits;
  const auto t0 = q::connection_limits::clock::now();
  using v = q::connection_limits::verdict;
  q::connection_limits::limits two{2, std::nullopt, 11, 1000ms};
  CHECK(limits.admit_address("10.0.0.1", two, t0) == v::admitted);
  CHECK(limits.admit_address("10.0.0.1", two, t0) == v::admitted);
  CHECK(limits.admit_address("10.0.0.1", two, t0) == v::too_many);
  CHECK(limits.admit_address("10.0.0.2", two, t0) == v::admitted);  // another address
  CHECK(limits.admit_principal("10.0.0.1", two, t0) == v::admitted);  // principals are their own space
  CHECK(limits.open_for_address("10.0.0.1") == 2);
  limits.release_address("10.0.0.1");
  CHECK(limits.admit_address("10.0.0.1", two, t0) == v::admitted);
  // A rate: over the window's span (at least 10 windows), 3 per second lets 30 in at once, then
  // refuses; refused attempts count too (a client reconnecting in a loop stays refused).
  q::connection_limits::limits rate{std::nullopt, 3.0, 11, 1000ms};
  int admitted = 0;
  for (int i = 0; i < 40; ++i) admitted += limits.admit_principal("p", rate, t0) == v::admitted;
  CHECK(admitted == 30);
  CHECK(limits.admit_principal("p", rate, t0 + 5s) == v::too_fast);
  // Once the window has passed, admitted again.
  CHECK(limits.admit_principal("p", rate, t0 + 30s) == v::admitted);
  // No limit: always admitted, nothing counted.
  CHECK(limits.admit_address("10.0.0.9", {}, t0) == v::admitted);
  CHECK(limits.open_for_address("10.0.0.9") == 0);
}

TEST_CASE("quota: connection limits in the section, per rule and per address") {
  const auto s = quotas_of(R"(  quotas:
    per_address: { max_connections: 100, connections_per_second: 20 }
    rules:
      - everyone: true
        max_connections: 50
      - principals: [batch]
        connections_per_second: 2
)");
  CHECK(s->per_address.max_connections == 100);
  CHECK(s->per_address.connections_per_second == 20);
  q::quota_meters meters;
  q::quota_book book(*s, meters);
  REQUIRE(book.per_address());
  auto b = book.for_principal("batch");
  REQUIRE(b);
  CHECK(b->max_connections == 50);  // everyone's, as batch's own rule does not set it
  CHECK(b->connections_per_second == 2);
  CHECK_FALSE(b->produce);
  CHECK(error_of("  quotas:\n    per_address: {}\n").find("needs max_connections or connections_per_second") !=
        std::string::npos);
  CHECK(error_of("  quotas:\n    rules:\n      - everyone: true\n        max_connections: 0\n").find("max_connections") !=
        std::string::npos);
}

TEST_CASE("quota: client ids, in Kafka's order of precedence, each metered as its entity") {
  const auto s = quotas_of(R"(  quotas:
    rules:
      - client_ids: ["*"]
        produce_bytes_per_second: 1KiB
      - client_ids: [legacy]
        produce_bytes_per_second: 2KiB
        requests_per_second: 50
      - everyone: true
        produce_bytes_per_second: 3KiB
      - everyone: true
        client_ids: [batch]
        produce_bytes_per_second: 4KiB
      - teams: [analytics]
        client_ids: ["*"]
        produce_bytes_per_second: 5KiB
      - principals: [ingest]
        produce_bytes_per_second: 6KiB
      - principals: [ingest]
        client_ids: [batch]
        produce_bytes_per_second: 7KiB
)");
  q::quota_meters meters;
  q::quota_book book(*s, meters);
  CHECK(book.by_client_id());
  auto produce = [&](const kgw::config::principal_config& who, std::string_view id) {
    auto p = book.for_principal(who, id);
    REQUIRE(p);
    REQUIRE(p->produce);
    return p->produce->per_second / 1024;
  };
  kgw::config::principal_config ingest, ana, bob;
  ingest.name = "ingest";
  ana.name = "ana";
  ana.teams = {"analytics"};
  bob.name = "bob";
  CHECK(produce(ingest, "batch") == 7);   // principal + client id
  CHECK(produce(ingest, "web") == 6);     // principal
  CHECK(produce(ana, "batch") == 5);      // team + "*" before everyone + client id
  CHECK(produce(bob, "batch") == 4);      // everyone + client id
  CHECK(produce(bob, "web") == 3);        // everyone
  CHECK(produce(bob, "legacy") == 3);     // everyone before a client-id quota
  // Meters: per (principal, client id) where a rule names client ids, per principal where not.
  CHECK(book.for_principal(ingest, "batch")->produce->meter != book.for_principal(ingest, "web")->produce->meter);
  CHECK(book.for_principal(ingest, "web")->produce->meter == book.for_principal(ingest, "other")->produce->meter);
  CHECK(book.for_principal(ana, "a")->produce->meter != book.for_principal(ana, "b")->produce->meter);
  // The request rate: only the client-id quota sets one, metered per client id across principals.
  const auto r1 = book.for_principal(bob, "legacy"), r2 = book.for_principal(ana, "legacy");
  REQUIRE(r1->requests);
  CHECK(r1->requests->per_second == 50);
  CHECK(r1->requests->meter == r2->requests->meter);
  CHECK_FALSE(book.for_principal(bob, "web")->requests);
  // Without everyone's rule, client-id quotas apply to whoever has no rule of their own.
  const auto only_clients = quotas_of("  quotas:\n    rules:\n      - client_ids: [\"*\"]\n        requests_per_second: 5\n");
  q::quota_book b2(*only_clients, meters);
  CHECK(b2.for_principal("x", "one")->requests->meter != b2.for_principal("y", "two")->requests->meter);
  CHECK(b2.for_principal("x", "one")->requests->meter == b2.for_principal("y", "one")->requests->meter);
}

TEST_CASE("quota: a request rate throttles each connection at its own requests, capped at one window") {
  const auto s = quotas_of("  quotas:\n    rules:\n      - everyone: true\n        requests_per_second: 10\n");
  q::quota_meters meters;
  q::quota_book book(*s, meters);
  const auto r = book.for_principal("p")->requests;
  REQUIRE(r);
  const auto t0 = q::rate_window::clock::now();
  std::chrono::milliseconds last{0};
  // The window spans at least 10 s: 100 requests at once are within 10/s, the next is over.
  for (int i = 0; i < 100; ++i) last = r->record(t0, 1);
  CHECK(last == 0ms);
  for (int i = 0; i < 400; ++i) last = r->record(t0, 1);
  CHECK(last == 1000ms);  // far over, but a request quota waits at most one window
  CHECK(r->meter->blocked_until() < t0);  // the principal's other connections are not held
  CHECK(error_of("  quotas:\n    rules:\n      - client_ids: [a]\n        max_connections: 3\n")
            .find("cannot limit connections") != std::string::npos);
  const auto empty_ids = error_of("  quotas:\n    rules:\n      - client_ids: []\n        requests_per_second: 3\n");
  CHECK(empty_ids.ends_with("a quota rule's client_ids must not be empty"));
  CHECK(error_of("  quotas:\n    rules:\n      - everyone: true\n        requests_per_second: 0\n")
            .find("requests_per_second") != std::string::npos);
}

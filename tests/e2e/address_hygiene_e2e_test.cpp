// End-to-end: no upstream broker address ever reaches a client. Every other e2e test also ends
// with require_no_upstream_addresses(); this one drives all address-bearing paths on purpose:
// bootstrap and per-broker Metadata, FindCoordinator for a group and for a transactional id,
// and records from every broker, with two different clients.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <librdkafka/rdkafka.h>

#include <array>

#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/subprocess.h"

namespace kgw::e2e {

using namespace std::chrono_literals;

TEST_CASE("address hygiene: no upstream address in any response", "[e2e][addresses]") {
  e2e_environment env({{"hygiene", 6}, {"hygiene-2", 6}});
  const auto deadline = clock::now() + 90s;

  // Metadata via every broker connection (librdkafka refreshes metadata from random brokers),
  // FindCoordinator via the group, InitProducerId via idempotence.
  {
    producer prod(env.bootstrap(), {{"enable.idempotence", "true"}, {"topic.metadata.refresh.interval.ms", "200"}});
    REQUIRE(prod.produce("hygiene", keyed_payloads("hygiene", 600), deadline).size() == 600);
    REQUIRE(prod.produce("hygiene-2", keyed_payloads("hygiene-2", 600), deadline).size() == 600);
  }
  {
    consumer c(env.bootstrap(), "hygiene-group", {{"topic.metadata.refresh.interval.ms", "200"}});
    c.subscribe({"hygiene", "hygiene-2"});
    std::size_t n = 0;
    std::array<consumer*, 1> one{&c};
    REQUIRE(poll_until(one, [&](std::size_t, record&&) { ++n; }, [&] { return n >= 1200; }, deadline));
    REQUIRE(c.commit_positions() == "");
    c.close();
  }
  // A transactional producer asks FindCoordinator with key type 1 (transaction).
  {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", env.bootstrap().c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "transactional.id", "hygiene-txn", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(rk);
    rd_kafka_error_t* e = rd_kafka_init_transactions(rk, 20'000);
    INFO((e ? rd_kafka_error_string(e) : "init_transactions ok"));
    CHECK(!e);
    if (e) rd_kafka_error_destroy(e);
    rd_kafka_destroy(rk);
  }
  // kcat: full metadata listing from a separate process.
  if (::access(KGW_E2E_KCAT, X_OK) == 0) {
    auto r = run_process({KGW_E2E_KCAT, "-b", env.bootstrap(), "-L"}, "", 30s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
  }

  env.require_no_upstream_addresses();
  if (env.through_gateway()) {
    const auto s = env.audit();
    CHECK(s.responses.count(10) == 1);   // FindCoordinator was seen and checked
    CHECK(s.addresses_checked >= 6);     // 3 brokers in at least two Metadata responses, at least
  }
}

}  // namespace kgw::e2e

// Fetch v16+ through the relay, against a scripted broker (the embedded one stops at Fetch v11):
// the response streams (its records relayed unread and spliced), and the KIP-951 node endpoints,
// the one place it carries broker addresses, reach the client rewritten: in place and padded
// when the gateway's address fits, withheld when it does not, exactly when the whole frame was
// buffered anyway. Never the broker's address. With traffic accounting on, a response of any
// version still streams (its last topic spliced whole before v16) and each topic's bytes are
// tallied exactly.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "config/gateway_config.h"
#include "gateway/gateway.h"
#include "policies/decision.h"
#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/scripted_broker.h"

namespace kgw::e2e {
namespace proto = kgw::protocol;

namespace {

constexpr const char* gateway_host = "127.0.0.1";

struct scenario {
  std::string endpoint_host;  // "" = no node endpoints
  std::size_t records_per_partition;
};

// A Fetch response of two topics x two partitions whose records are random bytes (the relay
// never reads them), with a node endpoint for broker 1 at `endpoint_host`.
struct fetch_script {
  std::vector<std::string> records;
  std::string host;
  // Four partitions' records of random bytes (the relay never reads them).
  void fill(std::size_t per_partition, unsigned seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 4; ++i) {
      std::string r(per_partition, '\0');
      for (auto& c : r) c = static_cast<char>(rng());
      records.push_back(std::move(r));
    }
  }
  std::vector<std::byte> body(std::int16_t version, std::int32_t corr) const {
    return two_by_two_fetch(version, corr, records, host);
  }
};

// One worker in front of the scripted broker, on 10 free ports.
config::gateway_config gateway_for(std::uint16_t broker_port, const char* source) {
  const std::uint16_t listen = find_free_port_block(10);
  config::gateway_config cfg;
  cfg.source = source;
  cfg.listen = {gateway_host, listen};
  cfg.advertised_host = gateway_host;
  cfg.broker_port_first = static_cast<std::uint16_t>(listen + 1);
  cfg.broker_port_last = static_cast<std::uint16_t>(listen + 9);
  cfg.workers = 1;
  cfg.upstream_bootstrap.push_back({"127.0.0.1", broker_port});
  return cfg;
}

}  // namespace

TEST_CASE("relay: Fetch v16 and v17 responses stream through with their node endpoints rewritten",
          "[e2e][relay]") {
  const scenario sc = GENERATE(scenario{"broker-1.kafka.internal.example.com", 400 * 1024},  // padded in place
                               scenario{"b1", 400 * 1024},                                   // withheld
                               scenario{"", 400 * 1024},                                     // nothing to rewrite
                               scenario{"broker-1.kafka.internal.example.com", 100});        // small: buffered
  INFO("endpoint host '" << sc.endpoint_host << "', " << sc.records_per_partition << " record bytes per partition");
  fetch_script script;
  script.host = sc.endpoint_host;
  script.fill(sc.records_per_partition, 42);
  scripted_broker broker([&](std::int16_t key, std::int16_t version, std::int32_t corr) {
    REQUIRE(key == proto::api::fetch);
    return script.body(version, corr);
  });

  config::gateway_config cfg = gateway_for(broker.port(), "fetch stream test");
  const std::uint16_t listen = cfg.listen.port;
  const char* level = std::getenv("KGW_E2E_LOG");
  spdlog::set_level(spdlog::level::from_str(level && *level ? level : "warn"));
  gateway::gateway gw(std::move(cfg));  // no tap: the relay splices as in production
  gw.start();

  raw_connection client(gw.bootstrap_port());
  std::int32_t corr = 1;
  for (std::int16_t version : {std::int16_t(16), std::int16_t(17)}) {
    INFO("Fetch v" << version);
    const std::uint64_t spliced_before = gw.spliced_bytes();
    const auto original = script.body(version, corr);
    client.send(proto::encode_request(proto::fetch_request{}, version, corr, "fetch-stream-test").flatten());
    const auto got = client.receive();
    REQUIRE(got);
    const auto m = [&] {
      proto::reader r{proto::bytes_view(*got)};
      proto::response_header h;
      h.decode(r, 1);
      CHECK(h.correlation_id == corr);
      proto::fetch_response out;
      out.decode(r, version);
      REQUIRE(r.ok());
      CHECK(r.remaining() == 0);
      return out;
    }();
    // Records byte-identical, in order.
    std::size_t i = 0;
    for (const auto& t : m.responses)
      for (const auto& p : t.partitions) {
        REQUIRE(p.records);
        CHECK(proto::as_string(*p.records) == script.records.at(i++));
      }
    CHECK(i == 4);
    // Never the broker's address.
    for (const auto& e : m.node_endpoints) {
      CHECK(e.host == gateway_host);
      CHECK(e.port >= listen + 1);
      CHECK(e.port <= listen + 9);
      CHECK(e.node_id == 1);
      CHECK(e.rack == std::optional<std::string_view>("rack-a"));
    }
    const bool streamed = sc.records_per_partition > 16 * 1024;
    if (sc.endpoint_host.empty()) {
      CHECK(*got == original);  // nothing to rewrite: the bytes that arrived
    } else if (!streamed || sc.endpoint_host.size() >= std::string_view(gateway_host).size()) {
      CHECK(m.node_endpoints.size() == 1);  // rewritten (exactly when buffered, padded in place when streamed)
    } else {
      CHECK(m.node_endpoints.empty());  // the gateway's address is longer: withheld, the frame's size has gone out
    }
    if (streamed) {
      // Same frame size as the broker's (it went out before the endpoints arrived), pad tags
      // from 120 only, and most record bytes went socket to socket.
      CHECK(got->size() == original.size());
      for (const auto& f : m.unknown_tagged_fields) CHECK(f.tag >= 120);
      CHECK(gw.spliced_bytes() - spliced_before >= 4 * sc.records_per_partition / 2);
    } else {
      CHECK(m.unknown_tagged_fields.empty());
    }
    ++corr;
  }
  gw.stop();
}

TEST_CASE("relay: with traffic accounting every Fetch version streams and each topic's bytes are tallied",
          "[e2e][relay]") {
  const std::size_t per_partition = GENERATE(std::size_t(400 * 1024), std::size_t(100));
  INFO(per_partition << " record bytes per partition");
  fetch_script script;
  script.fill(per_partition, 7);
  scripted_broker broker([&](std::int16_t key, std::int16_t version, std::int32_t corr) {
    REQUIRE(key == proto::api::fetch);
    return script.body(version, corr);
  });
  gateway::gateway gw(gateway_for(broker.port(), "fetch tally test"));
  std::mutex mu;
  std::map<std::string, std::uint64_t> bytes;  // topic -> bytes tallied
  int events = 0;
  gw.subscribe(
      [&](const policies::decision& d) {
        if (d.kind != policies::decision_kind::traffic) return;
        std::lock_guard lk(mu);
        bytes[std::string(d.resource)] += d.bytes;
        ++events;
      },
      true);
  gw.start();
  raw_connection client(gw.bootstrap_port());
  std::int32_t corr = 1;
  for (std::int16_t version : {std::int16_t(4), std::int16_t(11), std::int16_t(12), std::int16_t(15),
                               std::int16_t(16), std::int16_t(17)}) {
    INFO("Fetch v" << version);
    {
      std::lock_guard lk(mu);
      bytes.clear();
      events = 0;
    }
    const std::uint64_t spliced_before = gw.spliced_bytes();
    const auto original = script.body(version, corr);  // m's views point into it
    proto::fetch_response m;
    {
      proto::reader r{proto::bytes_view(original)};
      proto::response_header h;
      h.decode(r, version >= 12 ? 1 : 0);
      m.decode(r, version);
    }
    client.send(proto::encode_request(proto::fetch_request{}, version, corr, "fetch-tally-test").flatten());
    const auto got = client.receive();
    REQUIRE(got);
    // The relay changed nothing (no node endpoints here) and the records arrived.
    CHECK(*got == original);
    // Each topic's section, as the scanner sees it: before v16 the last topic also took the
    // (empty) top-level tagged fields, one byte from v12.
    std::uint64_t sections[2];
    for (int t = 0; t < 2; ++t) {
      proto::writer w;
      m.responses[static_cast<std::size_t>(t)].encode(w, version);
      sections[t] = w.size() + (t == 1 && version >= 12 && version < 16 ? 1 : 0);
    }
    std::lock_guard lk(mu);
    CHECK(events == 2);
    if (version < 13) {
      CHECK(bytes["first"] == sections[0]);
      CHECK(bytes["second"] == sections[1]);
    } else {  // by id, and no Metadata told the gateway their names
      CHECK(bytes["(unknown topic id)"] == sections[0] + sections[1]);
    }
    if (per_partition > 16 * 1024) CHECK(gw.spliced_bytes() - spliced_before >= per_partition);
    ++corr;
  }
  gw.stop();
}

}  // namespace kgw::e2e

// End-to-end faults (issue 14, part 3): one gateway process (`kafka-gateway --config F`) in
// front of the embedded broker run as its own process (`kafka-gateway dev-cluster`), with a
// librdkafka producer (acks=all) and a librdkafka consumer group running throughout, and then:
//   - the gateway SIGKILLed and restarted on its same ports;
//   - the broker paused (SIGSTOP) for 20 s: clients report timeouts, the gateway's other
//     listeners and its admin endpoint keep answering what they answer themselves, the gateway
//     does not spin, and traffic resumes after SIGCONT;
//   - the broker killed and replaced by a new process on the same ports.
// Each time every acknowledged record is compared with the log read straight from the broker,
// and the group must have read every record of that log. Between fault events the test waits
// until every client moved on: librdkafka 2.0.2's mock aborts (rd_kafka_mock_cgrp_member_add:
// !member->resp) when a member re-sends a JoinGroup the mock still holds, so no fault may land
// in the middle of a rebalance. It also does not deduplicate a retried batch of a producer that
// is not transactional, so records may be written twice where a response was lost (reported).
//
// Ports are fixed (a test restarts processes on the same ones): 17400-17489, below the dynamic
// blocks of the other e2e tests (20000-32000, find_free_port_block) and the kernel's ephemeral
// range (32768+, where the mock's own ports come from).
#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/security/scram.h"
#include "protocol/api_versions.h"
#include "protocol/frames.h"
#include "protocol/sasl_authenticate.h"
#include "protocol/sasl_handshake.h"
#include "tests/e2e/broker_contents.h"
#include "tests/e2e/dev_cluster_process.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/gateway_process.h"
#include "tests/e2e/http_get.h"
#include "tests/e2e/process_stats.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/scratch_dir.h"
#include "tests/e2e/steady_clients.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace proto = kgw::protocol;

constexpr int partitions = 6;
const std::string topic = "faults";

// A test's fixed ports: listen `base`, broker ports base+1..base+10, admin base+11, the SASL
// listener base+12 with broker ports base+13..base+19, the broker's own ports from base+20.
struct port_block {
  std::uint16_t base;
  std::uint16_t listen() const { return base; }
  std::uint16_t admin() const { return static_cast<std::uint16_t>(base + 11); }
  std::uint16_t sasl() const { return static_cast<std::uint16_t>(base + 12); }
  std::vector<std::uint16_t> broker(int n) const {
    std::vector<std::uint16_t> out;
    for (int i = 0; i < n; ++i) out.push_back(static_cast<std::uint16_t>(base + 20 + i));
    return out;
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(base); }
};

// The gateway's config: a plaintext listener, optionally a SASL_PLAINTEXT one (PLAIN, user alice),
// and the admin listener.
fs::path write_config(const scratch_dir& d, const port_block& p, const std::string& upstream, bool sasl_listener) {
  std::ostringstream y;
  y << "gateway:\n  workers: 2\n"
    << "listeners:\n"
    << "  - name: plain\n    listen: 127.0.0.1:" << p.listen() << "\n    advertised_host: 127.0.0.1\n"
    << "    broker_ports: " << p.base + 1 << "-" << p.base + 10 << "\n";
  if (sasl_listener) {
    const auto scram = security::scram_mechanism_from_name("SCRAM-SHA-256");
    y << "  - name: sasl\n    listen: 127.0.0.1:" << p.sasl() << "\n    advertised_host: 127.0.0.1\n"
      << "    broker_ports: " << p.base + 13 << "-" << p.base + 19 << "\n"
      << "    security_protocol: SASL_PLAINTEXT\n    sasl:\n      mechanisms: [PLAIN]\n"
      << "principals:\n  alice:\n    credentials:\n      - \""
      << security::to_stored_form(security::make_scram_credential(*scram, "alice-secret")) << "\"\n";
  }
  y << "upstream:\n  bootstrap: \"" << upstream << "\"\n"
    << "admin:\n  listen: 127.0.0.1:" << p.admin() << "\n";
  const fs::path f = d.path / "gateway.yaml";
  std::ofstream(f) << y.str();
  return f;
}

// What the broker's log says about a producer's acknowledged records and a group's reading.
struct delivery_check {
  std::size_t in_log = 0;      // records in the log
  std::size_t lost = 0;        // acknowledged, not in the log
  std::size_t duplicated = 0;  // in the log more than once
  std::size_t unread = 0;      // in the log from `read_from` on, never read by the group
  std::size_t skipped = 0;     // in the log before `read_from`, never read by the group
  std::string first_lost;
};
// read_from: partition -> the first offset the group must have read (absent: 0).
delivery_check check_delivery(const broker_contents& log, const std::set<std::string>& acked,
                              const std::set<std::string>& read,
                              const std::map<std::int32_t, std::int64_t>& read_from = {}) {
  delivery_check c;
  std::map<std::string, int> copies;
  for (const auto& r : log.records) {
    if (++copies[r.value] > 1 || read.contains(r.value)) continue;
    const auto from = read_from.find(r.partition);
    ++(from != read_from.end() && r.offset < from->second ? c.skipped : c.unread);
  }
  c.in_log = log.records.size();
  for (const auto& v : acked)
    if (!copies.contains(v) && c.lost++ == 0) c.first_lost = v;
  for (const auto& [v, n] : copies) c.duplicated += n > 1;
  return c;
}

// The clients every fault test runs: an acks=all producer (300 records/s) and a group member.
struct clients {
  steady_producer producer;
  group_reader reader;
  clients(const std::string& bootstrap, const std::string& group, const settings& producer_extra = {})
      : producer(bootstrap, topic, "rec", false, producer_extra), reader(bootstrap, group, topic, partitions) {}
  // Both moved on by `by` records (acknowledged, read) from now, within `within`.
  bool moving(std::size_t by, std::chrono::seconds within) {
    const std::size_t acked = producer.acked_count(), read = reader.count();
    return progress([&] { return producer.acked_count() >= acked + by && reader.count() >= read + by; }, within);
  }
  // Stops both: the producer waits for every delivery report, the group reads to the end.
  void stop() {
    producer.stop(clock::now() + 60s);
    reader.finish(clock::now() + 60s);
    CHECK(producer.unreported() == 0);
    CHECK(reader.error.empty());
  }
  // What the broker's log says about `acked` and the group's reading (see check_delivery).
  delivery_check check(dev_cluster_process& broker, const std::set<std::string>& acked,
                       const std::map<std::int32_t, std::int64_t>& read_from = {}) {
    REQUIRE(broker.alive());  // the mock did not abort
    const auto log = read_from_broker(broker.bootstrap(), topic, partitions, clock::now() + 30s);
    REQUIRE(log.error.empty());
    return check_delivery(log, acked, reader.values(), read_from);
  }
};

// One test's processes: the broker (its brokers on `broker_ports` when given) and a gateway in
// front of it, ready to serve, with their files in `dir` (kept when the test fails).
struct stage {
  scratch_dir dir;
  std::unique_ptr<dev_cluster_process> broker;
  std::unique_ptr<gateway_process> gateway;
  stage(const std::string& name, const port_block& ports, bool sasl_listener, bool fixed_broker_ports = false)
      : dir("faults-" + name) {
    REQUIRE(ports_free(ports.base, fixed_broker_ports ? 23 : 20));
    start_broker(fixed_broker_ports ? ports.broker(3) : std::vector<std::uint16_t>{});
    gateway = std::make_unique<gateway_process>(write_config(dir, ports, broker->bootstrap(), sasl_listener),
                                                dir.path / "gateway", "127.0.0.1:" + std::to_string(ports.admin()));
    gateway->start();
    REQUIRE(gateway->ready(clock::now() + 20s));
    dir.keep = true;  // until the test says otherwise: a failed REQUIRE leaves them for reading
  }
  void start_broker(const std::vector<std::uint16_t>& fixed_ports) {
    broker = std::make_unique<dev_cluster_process>(3, std::vector<gateway::embedded_topic>{{topic, partitions}},
                                                   dir.path / "broker.log", fixed_ports);
  }
};

}  // namespace

TEST_CASE("faults: the gateway SIGKILLed and restarted on its ports loses no acknowledged record and the group "
          "reads everything",
          "[e2e][faults]") {
  const auto started = clock::now();
  const port_block ports{17400};
  stage s("gateway-kill", ports, false);
  auto& gw = *s.gateway;
  INFO("files (configs, logs) in " << s.dir.path);

  clients c(ports.bootstrap(), "faults-gateway-kill");
  REQUIRE(c.moving(300, 40s));
  const std::size_t killed_at = c.producer.sent();
  CHECK(gw.stop(SIGKILL, 5s) == 128 + SIGKILL);
  std::this_thread::sleep_for(1s);  // the clients see their connections fail and retry
  gw.start();  // the same config: the same ports
  REQUIRE(gw.ready(clock::now() + 20s));
  CHECK(c.moving(600, 60s));

  c.stop();
  const auto acked = c.producer.acked();
  const auto failures = c.producer.failures();
  const auto d = c.check(*s.broker, acked);
  WARN("gateway SIGKILL at rec-" << killed_at << ": produced " << c.producer.sent() << ", acknowledged "
                                 << acked.size() << ", failed " << c.producer.failed_count() << ", in the log "
                                 << d.in_log << ", lost " << d.lost << ", written twice " << d.duplicated
                                 << ", read by the group " << c.reader.values().size() << ", unread " << d.unread
                                 << "; " << std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started).count()
                                 << " s");
  INFO("first failure: " << (failures.empty() ? "none" : failures.front()) << "; first lost: " << d.first_lost);
  CHECK(failures.empty());
  CHECK(d.lost == 0);
  CHECK(d.unread == 0);
  s.dir.keep = d.lost + d.unread > 0 || !failures.empty();
}

TEST_CASE("faults: the broker paused for 20 s: clients time out cleanly, the gateway's own answers go on, it does "
          "not spin, and traffic resumes",
          "[e2e][faults]") {
  const auto started = clock::now();
  const port_block ports{17430};
  stage s("broker-pause", ports, true);
  auto& gw = *s.gateway;
  auto& broker = *s.broker;
  INFO("files (configs, logs) in " << s.dir.path);

  // Short timeouts, so the pause shows as errors the application sees (not only as a delay).
  clients c(ports.bootstrap(), "faults-broker-pause", {{"request.timeout.ms", "5000"}, {"message.timeout.ms", "10000"}});
  REQUIRE(c.moving(300, 40s));

  const double cpu_before = cpu_seconds(gw.pid());
  const std::size_t failed_before = c.producer.failed_count();
  broker.signal(SIGSTOP);
  const auto paused = clock::now();
  std::this_thread::sleep_for(3s);  // the clients' requests are stuck by now

  // What the gateway answers itself must not wait for the broker: its admin endpoint, and on its
  // SASL listener ApiVersions (from the versions learnt at start-up), SaslHandshake and the PLAIN
  // login (no broker connection exists before authentication).
  {
    auto t = clock::now();
    const auto health = http_get(ports.admin(), "/healthz");
    CHECK(health.status == 200);
    CHECK(clock::now() - t < 2s);

    raw_connection sasl(ports.sasl());
    auto frame = [](const auto& msg, std::int16_t version, std::int32_t corr) {
      return proto::encode_request(msg, version, corr, "fault-test").flatten();
    };
    t = clock::now();
    sasl.send(frame(proto::api_versions_request{}, 0, 1));
    const auto versions = sasl.receive();
    REQUIRE(versions);
    CHECK(decode_response<proto::api_versions_response>(*versions, 0, 1).error_code == 0);
    proto::sasl_handshake_request hs;
    hs.mechanism = "PLAIN";
    sasl.send(frame(hs, 1, 2));
    const auto hs_answer = sasl.receive();
    REQUIRE(hs_answer);
    CHECK(decode_response<proto::sasl_handshake_response>(*hs_answer, 1, 2).error_code == 0);
    const std::string plain = std::string("\0alice\0alice-secret", 19);
    proto::sasl_authenticate_request auth;
    auth.auth_bytes = proto::as_bytes(plain);
    sasl.send(frame(auth, 1, 3));
    const auto auth_answer = sasl.receive();
    REQUIRE(auth_answer);
    CHECK(decode_response<proto::sasl_authenticate_response>(*auth_answer, 1, 3).error_code == 0);
    const auto answered_in = clock::now() - t;
    WARN("during the pause: /healthz " << health.status << ", SASL listener ApiVersions + SaslHandshake + PLAIN login in "
                                       << std::chrono::duration_cast<std::chrono::milliseconds>(answered_in).count()
                                       << " ms");
    CHECK(answered_in < 2s);
  }

  std::this_thread::sleep_until(paused + 20s);
  const double cpu_paused = cpu_seconds(gw.pid()) - cpu_before;
  const std::size_t failed_in_pause = c.producer.failed_count() - failed_before;
  const std::size_t consumer_errors = c.reader.client_errors();
  broker.signal(SIGCONT);
  const auto resumed = clock::now();
  const bool moving = c.moving(300, 60s);
  const auto recovery = clock::now() - resumed;
  CHECK(moving);

  c.stop();
  const auto acked = c.producer.acked();
  const auto d = c.check(broker, acked);
  WARN("broker SIGSTOP 20 s: gateway CPU " << cpu_paused << " s during the pause; producer: " << failed_in_pause
                                           << " records timed out during the pause ("
                                           << (c.producer.failures().empty() ? "" : c.producer.failures().front())
                                           << "), consumer errors reported " << consumer_errors
                                           << "; moving again " << std::chrono::duration_cast<std::chrono::milliseconds>(recovery).count()
                                           << " ms after SIGCONT; produced " << c.producer.sent() << ", acknowledged "
                                           << acked.size() << ", failed " << c.producer.failed_count() << ", in the log "
                                           << d.in_log << ", lost " << d.lost << ", written twice " << d.duplicated
                                           << ", unread " << d.unread << "; "
                                           << std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started).count()
                                           << " s");
  // Not spinning: a relay waiting on sockets uses next to no CPU; 1 s in 20 s would be a busy loop
  // (the clients' reconnects and retries cost a few milliseconds).
  CHECK(cpu_paused < 1.0);
  CHECK(failed_in_pause > 0);  // the producer's application was told (message timeout), not left hanging
  INFO("first lost: " << d.first_lost);
  CHECK(d.lost == 0);
  CHECK(d.unread == 0);
  s.dir.keep = d.lost + d.unread > 0 || cpu_paused >= 1.0;
}

TEST_CASE("faults: the broker killed and replaced on the same ports: clients recover through the gateway",
          "[e2e][faults]") {
  const auto started = clock::now();
  const port_block ports{17460};
  stage s("broker-replace", ports, false, true);
  INFO("files (configs, logs) in " << s.dir.path);

  clients c(ports.bootstrap(), "faults-broker-replace");
  REQUIRE(c.moving(300, 40s));
  // The mock keeps its log in memory: what the old broker acknowledged goes with it. What the
  // new one acknowledges must be in its log. The new log starts again at offset 0, under the
  // positions the group had reached (and commits again): where it grew past them before the
  // group fetched, the group rightly reads on from its position (no out-of-range reset) and never
  // sees the records below it. Every record from the old log's end on it must read.
  std::map<std::int32_t, std::int64_t> old_end;
  {
    consumer probe(s.broker->bootstrap(), "");
    for (const auto& [p, marks] : probe.watermarks(topic, partitions, 10s)) old_end[p] = marks.second;
  }
  REQUIRE(old_end.size() == partitions);
  const std::size_t acked_by_old_before_kill = c.producer.acked_count();
  CHECK(s.broker->kill() == 128 + SIGKILL);
  std::this_thread::sleep_for(1s);  // delivery reports already received by the client are served
  const auto acked_by_old = c.producer.acked();
  s.start_broker(ports.broker(3));
  const auto replaced = clock::now();
  const bool moving = c.moving(600, 60s);
  const auto recovery = clock::now() - replaced;
  CHECK(moving);

  c.stop();
  std::set<std::string> acked_by_new;
  for (const auto& v : c.producer.acked())
    if (!acked_by_old.contains(v)) acked_by_new.insert(v);
  const auto d = c.check(*s.broker, acked_by_new, old_end);
  WARN("broker replaced: " << acked_by_old_before_kill << " acknowledged by the old broker (gone with it), "
                           << acked_by_new.size() << " by the new one; moving again "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(recovery).count()
                           << " ms after the replacement; failed " << c.producer.failed_count() << "; new log holds "
                           << d.in_log << ", lost " << d.lost << ", written twice " << d.duplicated << ", unread "
                           << d.unread << " (below the old log's end, under the group's positions: " << d.skipped
                           << "); "
                           << std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started).count() << " s");
  INFO("first lost: " << d.first_lost);
  CHECK(c.producer.failures().empty());
  CHECK(d.lost == 0);
  CHECK(d.unread == 0);
  s.dir.keep = d.lost + d.unread > 0;
}

}  // namespace kgw::e2e

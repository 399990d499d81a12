// End-to-end: byte-rate quotas with real librdkafka clients, through the gateway's SASL listener.
// Two principals with different produce quotas write flat out at the same time: each is told
// throttle_time_ms (librdkafka's throttle callback sees it) and each one's rate settles within
// 10% of its own quota. A consumer over its fetch quota the same. Two clients of one principal
// with different client ids each get the rate their client-id rule gives. A request-rate quota
// (KIP-124's, as requests per second) throttles a producer's requests to it.
// Kafka's rate is a sliding window (here 11 x 100 ms, Kafka's default is 11 x 1 s): whenever the
// window has emptied, a client may send a window's worth at once (as Kafka lets it), so the
// delivered rate is a sawtooth around the quota with the window's period. It is averaged over
// 15 s, many periods, after the first burst.
#include <librdkafka/rdkafka.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/gateway.h"
#include "policies/quota/quota_config.h"
#include "protocol/api_versions.h"
#include "protocol/frames.h"
#include "protocol/produce.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/opaque_produce.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/secure_environment.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::size_t record_bytes = 2 * 1024;  // batch overhead stays under 4%

// What one client saw: bytes delivered (produced and acknowledged, or consumed) with their time,
// and the largest throttle time brokers (here: the gateway) told it.
struct flow {
  std::mutex mu;
  std::vector<std::pair<steady::time_point, std::size_t>> events;
  std::atomic<int> max_throttle_ms{0};
  std::vector<std::string> errors;

  void add(std::size_t bytes) {
    std::lock_guard lk(mu);
    events.emplace_back(steady::now(), bytes);
  }
  // Bytes per second between `from` and `to`.
  double rate(steady::time_point from, steady::time_point to) {
    std::lock_guard lk(mu);
    std::size_t sum = 0;
    for (const auto& [t, b] : events)
      if (t >= from && t < to) sum += b;
    return static_cast<double>(sum) / std::chrono::duration<double>(to - from).count();
  }
};

// A quota rule for one principal; the caller sets its limits.
policies::quota_rule rule_for(const std::string& principal) {
  policies::quota_rule r;
  r.who = {config::subject::kind::principals, {principal}};
  return r;
}

void on_throttle(rd_kafka_t*, const char*, int32_t, int throttle_ms, void* opaque) {
  auto* f = static_cast<flow*>(opaque);
  int seen = f->max_throttle_ms.load();
  while (throttle_ms > seen && !f->max_throttle_ms.compare_exchange_weak(seen, throttle_ms)) {
  }
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* f = static_cast<flow*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE) return;  // never sent: the test's end
  if (m->err) {
    std::lock_guard lk(f->mu);
    if (f->errors.size() < 10) f->errors.push_back(rd_kafka_err2str(m->err));
    return;
  }
  f->add(m->len);
}

// Small requests and responses (16 KiB), so that many of them make up each second measured.
rd_kafka_conf_t* client_conf(const std::string& bootstrap, const std::string& user, const std::string& password,
                             flow& f, bool producer, const std::string& client_id = "rdkafka") {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  std::vector<std::pair<std::string, std::string>> settings{
      {"bootstrap.servers", bootstrap}, {"security.protocol", "SASL_PLAINTEXT"}, {"sasl.mechanism", "SCRAM-SHA-512"},
      {"sasl.username", user},          {"sasl.password", password},             {"message.max.bytes", "16384"},
      {"client.id", client_id}};
  if (producer) {
    settings.insert(settings.end(), {{"linger.ms", "5"},
                                     {"acks", "all"},
                                     {"batch.size", "16384"},
                                     // One request at a time per connection, as a broker reads
                                     // them; librdkafka would otherwise queue dozens behind a
                                     // throttled one.
                                     {"max.in.flight.requests.per.connection", "1"}});
  } else {
    settings.insert(settings.end(), {{"group.id", "quota-e2e-" + user},
                                     {"fetch.wait.max.ms", "50"},
                                     {"enable.auto.commit", "false"},
                                     {"fetch.max.bytes", "16384"},
                                     {"max.partition.fetch.bytes", "8192"}});
  }
  for (const auto& [k, v] : settings)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      FAIL("rdkafka setting " << k << ": " << err);
  rd_kafka_conf_set_opaque(conf, &f);
  rd_kafka_conf_set_throttle_cb(conf, on_throttle);
  return conf;
}

// Produces 10 KiB records to `topic` as fast as the client is let, until `until`.
void produce_flat_out(const std::string& bootstrap, const std::string& user, const std::string& password,
                      const std::string& topic, steady::time_point until, flow& f,
                      const std::string& client_id = "rdkafka") {
  rd_kafka_conf_t* conf = client_conf(bootstrap, user, password, f, true, client_id);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk);
  const std::string value(record_bytes, 'q');
  while (steady::now() < until) {
    if (rd_kafka_outq_len(rk) > 64) {  // keep a few batches queued, no more
      rd_kafka_poll(rk, 5);
      continue;
    }
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
  rd_kafka_flush(rk, 15000);
  rd_kafka_destroy(rk);
}

}  // namespace

TEST_CASE("quotas: a large Produce relayed as it arrives counts against the produce quota and is throttled",
          "[e2e][quotas]") {
  constexpr double quota = 64 * 1024;
  e2e_environment env({{"metered-large", 1}}, 1, false, [&](config::gateway_config& c) {
    auto& q = c.policies.edit<policies::quota_section>();
    q.window = 100ms;  // a rate over ~1 s: one large request is over it
    policies::quota_rule r;
    r.who = {config::subject::kind::everyone, {}};
    r.produce_bytes_per_second = quota;
    q.rules.push_back(r);
  });
  // 320 KiB of records (whether the broker takes them does not matter: the gateway raises the
  // throttle in whatever the broker answers). Nothing reads Produce here but the quota, which
  // counts the request by its size: it goes on as it arrives.
  std::vector<std::byte> records(320 * 1024, std::byte{0x5a});
  namespace proto = kgw::protocol;
  const auto pr = opaque_produce({{"metered-large", proto::bytes_view(records)}});
  raw_connection c(env.gateway_port());
  // A connection's first request is read whole (the broker connection opens with it).
  c.send(proto::encode_request(proto::api_versions_request{}, 0, 7, "quota-large").flatten());
  REQUIRE(c.receive());
  const auto spliced_before = env.gateway_instance()->spliced_bytes();
  c.send(proto::encode_request(pr, 3, 1, "quota-large").flatten());
  auto answer = c.receive();
  REQUIRE(answer);
  const auto resp = decode_response<proto::produce_response>(*answer, 3, 1);
  // 320 KiB against 64 KiB/s: seconds of throttle, told in the answer.
  CHECK(resp.throttle_time_ms >= 2000);
  CHECK(env.gateway_instance()->spliced_bytes() - spliced_before > 128 * 1024);
}

TEST_CASE("quotas: two principals with different produce quotas each get their own rate, told throttle_time_ms",
          "[e2e][quotas][timing]") {
  constexpr double alice_quota = 400 * 1024, bob_quota = 160 * 1024;
  secure_environment env({{"metered", 3}}, [&](config::gateway_config& c) {
    auto& q = c.policies.edit<policies::quota_section>();
    q.window = 100ms;
    q.rules.push_back(rule_for("alice"));
    q.rules.back().produce_bytes_per_second = alice_quota;
    q.rules.push_back(rule_for("bob"));
    q.rules.back().produce_bytes_per_second = bob_quota;
  });
  const std::string bootstrap = env.bootstrap("sasl");
  flow alice, bob;
  const auto start = steady::now();
  const auto until = start + 18s;
  std::thread a([&] { produce_flat_out(bootstrap, "alice", "alice-secret", "metered", until, alice); });
  std::thread b([&] { produce_flat_out(bootstrap, "bob", "bob-secret", "metered", until, bob); });
  a.join();
  b.join();
  for (auto* f : {&alice, &bob}) {
    INFO((f == &alice ? "alice" : "bob") << ": delivery errors: " << (f->errors.empty() ? "" : f->errors.front()));
    CHECK(f->errors.empty());
    CHECK(f->max_throttle_ms.load() > 0);  // the gateway said so in throttle_time_ms
  }
  // After the first burst: each at its own quota, within 10%.
  const double ra = alice.rate(start + 3s, until), rb = bob.rate(start + 3s, until);
  WARN("alice " << ra / 1024 << " KiB/s (quota " << alice_quota / 1024 << "), bob " << rb / 1024 << " KiB/s (quota "
                << bob_quota / 1024 << ")");
  CHECK(ra == Approx(alice_quota).epsilon(0.10));
  CHECK(rb == Approx(bob_quota).epsilon(0.10));
}

TEST_CASE("quotas: one principal's client ids each get the rate their rule gives",
          "[e2e][quotas][timing]") {
  constexpr double web_quota = 400 * 1024, bulk_quota = 160 * 1024;
  secure_environment env({{"metered", 3}}, [&](config::gateway_config& c) {
    auto& q = c.policies.edit<policies::quota_section>();
    q.window = 100ms;
    q.rules.push_back(rule_for("alice"));  // alice's clients together, but for those below
    q.rules.back().produce_bytes_per_second = web_quota;
    q.rules.push_back(rule_for("alice"));
    q.rules.back().client_ids = {"bulk-loader"};
    q.rules.back().produce_bytes_per_second = bulk_quota;
  });
  const std::string bootstrap = env.bootstrap("sasl");
  flow web, bulk;
  const auto start = steady::now();
  const auto until = start + 18s;
  std::thread a([&] { produce_flat_out(bootstrap, "alice", "alice-secret", "metered", until, web, "web-app"); });
  std::thread b([&] { produce_flat_out(bootstrap, "alice", "alice-secret", "metered", until, bulk, "bulk-loader"); });
  a.join();
  b.join();
  for (auto* f : {&web, &bulk}) {
    INFO((f == &web ? "web-app" : "bulk-loader") << ": delivery errors: " << (f->errors.empty() ? "" : f->errors.front()));
    CHECK(f->errors.empty());
    CHECK(f->max_throttle_ms.load() > 0);
  }
  const double rw = web.rate(start + 3s, until), rb = bulk.rate(start + 3s, until);
  WARN("alice/web-app " << rw / 1024 << " KiB/s (quota " << web_quota / 1024 << "), alice/bulk-loader " << rb / 1024
                        << " KiB/s (quota " << bulk_quota / 1024 << ")");
  CHECK(rw == Approx(web_quota).epsilon(0.10));
  CHECK(rb == Approx(bulk_quota).epsilon(0.10));
}

TEST_CASE("quotas: a producer over its request rate is throttled to it, told throttle_time_ms",
          "[e2e][quotas][timing]") {
  constexpr double quota = 100;  // requests per second
  secure_environment env({{"metered", 1}}, [&](config::gateway_config& c) {
    auto& q = c.policies.edit<policies::quota_section>();
    q.window = 100ms;
    q.rules.push_back(rule_for("alice"));
    q.rules.back().requests_per_second = quota;
  });
  // One record per Produce request: each is sent once the one before is acknowledged, so
  // acknowledged records per second are Produce requests per second (the client's few Metadata
  // requests count against the quota too, and are not counted here).
  flow f;
  rd_kafka_conf_t* conf = client_conf(env.bootstrap("sasl"), "alice", "alice-secret", f, true);
  char err[512];
  rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  INFO(err);
  REQUIRE(rk);
  const auto start = steady::now();
  const auto until = start + 15s;
  std::size_t sent = 0;
  while (steady::now() < until) {
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("metered"), RD_KAFKA_V_VALUE(const_cast<char*>("r"), 1),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    ++sent;
    while (rd_kafka_outq_len(rk) > 0 && steady::now() < until + 5s) rd_kafka_poll(rk, 1);
  }
  rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
  INFO("delivery errors: " << (f.errors.empty() ? "" : f.errors.front()));
  CHECK(f.errors.empty());
  CHECK(f.events.size() == sent);
  CHECK(f.max_throttle_ms.load() > 0);
  const double r = f.rate(start + 3s, until);  // records of 1 byte: records per second
  WARN("acknowledged " << r << " Produce requests/s (quota " << quota << ")");
  CHECK(r == Approx(quota).epsilon(0.10));
}

TEST_CASE("quotas: a consumer over its fetch quota is throttled to it",
          "[e2e][quotas][timing]") {
  constexpr double quota = 200 * 1024;
  secure_environment env({{"backlog", 2}}, [&](config::gateway_config& c) {
    auto& q = c.policies.edit<policies::quota_section>();
    q.window = 100ms;
    q.rules.push_back(rule_for("alice"));
    q.rules.back().fetch_bytes_per_second = quota;
  });
  // A backlog of 6 MiB (more than 18 s at the quota), written straight to the broker (no quota on the way in).
  {
    flow fill;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_conf_set(conf, "bootstrap.servers", env.cluster()->bootstrap().c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
    rd_kafka_conf_set(conf, "batch.size", "16384", err, sizeof err);  // a broker returns whole batches
    rd_kafka_conf_set_opaque(conf, &fill);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    INFO(err);
    REQUIRE(rk);
    const std::string value(record_bytes, 'c');
    for (int i = 0; i < 3000; ++i) {
      while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("backlog"), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 10);
      rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 30000);
    rd_kafka_destroy(rk);
    REQUIRE(fill.events.size() == 3000);
  }
  flow f;
  rd_kafka_conf_t* conf = client_conf(env.bootstrap("sasl"), "alice", "alice-secret", f, false);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  INFO(err);
  REQUIRE(rk);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(2);
  for (int p = 0; p < 2; ++p)
    rd_kafka_topic_partition_list_add(parts, "backlog", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  REQUIRE(rd_kafka_assign(rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  const auto start = steady::now();
  const auto until = start + 18s;
  while (steady::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) f.add(m->len);
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  CHECK(f.max_throttle_ms.load() > 0);
  const double r = f.rate(start + 3s, until);
  WARN("consumed " << r / 1024 << " KiB/s (quota " << quota / 1024 << ")");
  CHECK(r == Approx(quota).epsilon(0.10));
}

}  // namespace kgw::e2e

namespace kgw::e2e {
namespace {

// Produces one record as `user`; true when it was delivered within `timeout`.
bool produce_one(const std::string& bootstrap, const std::string& user, const std::string& password,
                 std::chrono::milliseconds timeout, rd_kafka_t** keep = nullptr) {
  flow f;
  rd_kafka_conf_t* conf = client_conf(bootstrap, user, password, f, true);
  char err[512];
  rd_kafka_conf_set(conf, "message.timeout.ms", std::to_string(timeout.count()).c_str(), err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk);
  rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("limited"), RD_KAFKA_V_VALUE(const_cast<char*>("x"), 1),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  rd_kafka_flush(rk, static_cast<int>(timeout.count()) + 2000);
  const bool delivered = f.events.size() == 1;
  if (keep) *keep = rk;  // the caller keeps the client (and its connections) open
  else rd_kafka_destroy(rk);
  return delivered;
}

}  // namespace

TEST_CASE("quotas: connections over an address's limit are closed at once, others are served") {
  secure_environment env({{"limited", 1}}, [&](config::gateway_config& c) {
    c.policies.edit<policies::quota_section>().per_address.max_connections = 3;
  });
  const std::uint16_t port = env.port("plain");
  std::vector<std::unique_ptr<raw_connection>> open;
  for (int i = 0; i < 3; ++i) open.push_back(std::make_unique<raw_connection>(port));
  std::this_thread::sleep_for(300ms);
  for (const auto& c : open) CHECK_FALSE(c->closed_by_peer());
  // The fourth from the same address: accepted by the kernel, closed by the gateway.
  raw_connection fourth(port);
  CHECK_FALSE(fourth.receive());
  CHECK_FALSE(fourth.timed_out);  // closed, not silent
  // One of the three goes: there is room again.
  open.pop_back();
  std::this_thread::sleep_for(300ms);
  raw_connection again(port);
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(again.closed_by_peer());
}

TEST_CASE("quotas: a principal over its connection limit is refused while others are not") {
  secure_environment env({{"limited", 1}}, [&](config::gateway_config& c) {
    auto& q = c.policies.edit<policies::quota_section>();
    q.rules.push_back(rule_for("alice"));
    q.rules.back().max_connections = 2;
  });
  const std::string bootstrap = env.bootstrap("sasl");
  // alice's first client takes one or two of her two connections and keeps them.
  rd_kafka_t* first = nullptr;
  REQUIRE(produce_one(bootstrap, "alice", "alice-secret", 10s, &first));
  // Two more clients of alice need at least two more connections: at least one cannot deliver.
  std::atomic<int> delivered{0};
  std::vector<rd_kafka_t*> more(2, nullptr);
  std::vector<std::thread> threads;
  for (auto& rk : more)
    threads.emplace_back([&] { delivered += produce_one(bootstrap, "alice", "alice-secret", 4s, &rk); });
  // Meanwhile bob, who has no limit, is served.
  const bool bob = produce_one(bootstrap, "bob", "bob-secret", 10s);
  for (auto& t : threads) t.join();
  CHECK(bob);
  CHECK(delivered.load() < 2);
  rd_kafka_destroy(first);
  for (auto* rk : more) rd_kafka_destroy(rk);
  // Her connections closed, alice is served again.
  std::this_thread::sleep_for(500ms);
  CHECK(produce_one(bootstrap, "alice", "alice-secret", 10s));
}

}  // namespace kgw::e2e

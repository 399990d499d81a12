// End-to-end acceptance test of the shared-customers scenario: the gateway runs in-process from
// config/examples/shared-customers.yaml exactly as shipped (only its listener ports are moved
// to free ones, and its own embedded broker is the upstream), real librdkafka clients log in
// with SASL/PLAIN as each team, and every record each team receives is checked against an
// independent reference (shared_customers_oracle.h). The data comes from the same generator the
// README demo uses (config/examples/generate_customers.py).
//
// What the broker stores is read straight from it (the gateway's upstream bootstrap list), never
// through the gateway: it must hold the 50,000 records exactly as produced, in one topic.
//
// Reading a failure: a SIGABRT in librdkafka's rd_slice_init_full while consuming means the
// gateway sent a batch the client cannot decode (librdkafka 2.0.2 aborts on a compressed batch
// that decompresses to nothing, e.g. a batch whose records a view all dropped, left compressed);
// MSG_SIZE_TOO_LARGE consumer errors mean fetch responses carried no record at all (librdkafka
// takes that for a too small fetch size, doubles it, and after ten times reports the error).
#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "config/gateway_config.h"
#include "config/loader.h"
#include "gateway/config_extensions.h"
#include "gateway/gateway.h"
#include "policies/acl/acl_config.h"
#include "policies/view/view_config.h"
#include "tests/e2e/customer_records.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/shared_customers_oracle.h"
#include "tests/e2e/subprocess.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
using shared_customers::oracle;
using shared_customers::reader;

constexpr const char* topic = "customers";
constexpr int partitions = 6;
// Written in the YAML; the test states them again rather than reading them from the loaded
// config, so a loader that mangled them would not also mangle the expectation.
constexpr const char* hash_key = "demo-only-hash-key-do-not-use-in-production";
constexpr const char* territory = "US-WEST";
constexpr const char* listener_name = "teams";

std::string source_path(const std::string& relative) {
  return (std::filesystem::path(KGW_E2E_SCRIPTS) / "../.." / relative).lexically_normal().string();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

settings sasl(const std::string& user, const std::string& password) {
  return {{"security.protocol", "SASL_PLAINTEXT"},
          {"sasl.mechanisms", "PLAIN"},
          {"sasl.username", user},
          {"sasl.password", password}};
}
settings sasl(const std::string& user) { return sasl(user, user + "-secret"); }

// The example config, checked for what the scenario relies on.
config::gateway_config load_scenario_config() {
  auto cfg = config::load_file(source_path("config/examples/shared-customers.yaml"), gateway::config_extensions());
  INFO((cfg ? std::string() : cfg.error()));
  REQUIRE(cfg.has_value());
  REQUIRE(cfg->listeners.size() == 1);
  const auto& l = cfg->listeners.front();
  CHECK(l.name == listener_name);
  CHECK(l.listen.str() == "127.0.0.1:19092");
  CHECK(l.protocol == config::security_protocol::sasl_plaintext);
  REQUIRE(l.sasl.has_value());
  CHECK(l.sasl->mechanisms == std::vector<std::string>{"PLAIN"});
  REQUIRE(cfg->embedded.has_value());
  CHECK(cfg->upstream_bootstrap.empty());
  CHECK(cfg->embedded->brokers == 3);
  REQUIRE(cfg->embedded->topics.size() == 1);
  CHECK(cfg->embedded->topics[0].name == topic);
  CHECK(cfg->embedded->topics[0].partitions == partitions);
  std::set<std::string> names;
  for (const auto& [name, p] : cfg->principals) {
    names.insert(name);
    CHECK(p.credentials.size() == 1);
  }
  CHECK(names == std::set<std::string>{"analytics", "fraud", "ingest", "marketing", "sales"});
  CHECK(cfg->principals.at("sales").attributes == std::map<std::string, std::string>{{"territory", territory}});
  CHECK(cfg->policies.section<policies::acl_section>()->enabled());
  CHECK(cfg->policies.section<policies::view_section>()->hash_key == hash_key);
  return std::move(*cfg);
}

// The gateway of the example config on free ports, recording every identity it establishes.
class scenario_gateway {
 public:
  using auth_event = std::tuple<std::string, std::string, std::string>;  // listener, principal, mechanism

  explicit scenario_gateway(config::gateway_config cfg) {
    const char* level = std::getenv("KGW_E2E_LOG");
    spdlog::set_level(spdlog::level::from_str(level && *level ? level : "warn"));
    port_ = find_free_port_block(16);
    auto& l = cfg.listeners.at(0);
    l.listen = {"127.0.0.1", port_};
    l.broker_port_first = static_cast<std::uint16_t>(port_ + 1);
    l.broker_port_last = static_cast<std::uint16_t>(port_ + 15);
    gw_ = std::make_unique<gateway::gateway>(std::move(cfg));
    gw_->set_embedded_broker_program(KGW_GATEWAY_PROGRAM);  // `upstream.embedded` runs `kafka-gateway dev-cluster`
    gw_->set_auth_tap([this](std::string_view listener, std::string_view principal, std::string_view mechanism) {
      std::lock_guard lk(mu_);
      events_.emplace(std::string(listener), std::string(principal), std::string(mechanism));
    });
    gw_->start();
  }
  ~scenario_gateway() { gw_->stop(); }
  scenario_gateway(const scenario_gateway&) = delete;
  scenario_gateway& operator=(const scenario_gateway&) = delete;

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  // The embedded broker the gateway started, for reading it directly.
  std::string upstream() const { return gw_->upstream_bootstrap(); }
  std::set<auth_event> auth_events() const {
    std::lock_guard lk(mu_);
    return events_;
  }
  void clear_auth_events() {
    std::lock_guard lk(mu_);
    events_.clear();
  }

 private:
  std::uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::set<auth_event> events_;
  std::unique_ptr<gateway::gateway> gw_;  // last: destroyed first, while the tap's state lives
};

std::vector<key_value> generate(int start, int count) { return generate_customers(start, count, 42); }

void fill_oracle(oracle& o, const std::vector<key_value>& rows) {
  for (const auto& [k, v] : rows)
    if (auto problem = o.add(k, v)) FAIL(*problem);
}

using position = std::pair<std::int32_t, std::int64_t>;  // partition, offset

// What the broker holds for the topic, read from it directly (assign, no group).
struct broker_view {
  std::vector<record> records;
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> marks;  // partition -> low, high
  std::string error;
};

broker_view read_broker(const std::string& upstream, clock::time_point deadline) {
  broker_view out;
  consumer c(upstream, "");
  out.marks = c.watermarks(topic, partitions, 10s);
  if (static_cast<int>(out.marks.size()) != partitions) {
    out.error = "watermark query failed for " + std::to_string(partitions - static_cast<int>(out.marks.size())) +
                " partition(s)";
    return out;
  }
  std::size_t total = 0;
  for (const auto& [p, m] : out.marks) total += static_cast<std::size_t>(m.second - m.first);
  c.assign_all(topic, partitions);
  std::array<consumer*, 1> one{&c};
  poll_until(
      one,
      [&](std::size_t, record&& r) {
        if (r.offset < out.marks.at(r.partition).second) out.records.push_back(std::move(r));
      },
      [&] { return out.records.size() >= total; }, deadline);
  if (out.records.size() != total)
    out.error = "read " + std::to_string(out.records.size()) + " of " + std::to_string(total) + " stored records";
  for (const auto& e : c.errors()) out.error += (out.error.empty() ? "" : "; ") + e;
  c.close();
  return out;
}

// Every topic the broker knows (Metadata for all topics, straight to it).
std::set<std::string> broker_topics(const std::string& upstream) {
  std::set<std::string> out;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", upstream.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return out;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return out;
  }
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < md->topic_cnt; ++i) out.insert(md->topics[i].topic);
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_destroy(rk);
  return out;
}

// A consumer on the raw librdkafka API, for what rdkafka_client.h does not show: the error
// codes (message errors and the error callback) and which partitions reported their end.
struct probe_request {
  std::string group;
  bool subscribe = false;  // false: assign every partition from the beginning (no group join)
  int wanted = 0;          // stop once this error code shows up (0: none)
  bool until_end = false;  // stop once every partition reported its end (enable.partition.eof)
};

struct probe_outcome {
  std::vector<record> got;
  std::set<int> codes;
  std::set<std::int32_t> ended;  // partitions that reported their end
  std::vector<std::string> texts;
  std::string describe() const {
    return std::to_string(got.size()) + " record(s), " + std::to_string(ended.size()) + " partition(s) at their end, errors:\n" +
           joined(texts);
  }
};

// Polls until the request is met or the deadline passes, then a second more, so that a record
// delivered after a refusal (or after the end) is counted too.
probe_outcome probe_consume(const std::string& bootstrap, const settings& extra, const probe_request& req,
                            clock::time_point deadline) {
  probe_outcome out;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  settings all{{"bootstrap.servers", bootstrap},
               {"group.id", req.group},
               {"auto.offset.reset", "earliest"},
               {"enable.auto.commit", "false"},
               {"enable.partition.eof", req.until_end ? "true" : "false"},
               {"session.timeout.ms", "6000"},
               {"heartbeat.interval.ms", "500"},
               {"fetch.wait.max.ms", "100"},
               {"log.connection.close", "false"}};
  all.insert(all.end(), extra.begin(), extra.end());
  for (const auto& [k, v] : all)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      out.texts.push_back("config " + k + ": " + err);
      return out;
    }
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int code, const char* reason, void* opaque) {
    auto* o = static_cast<probe_outcome*>(opaque);
    o->codes.insert(code);
    if (o->texts.size() < 50)
      o->texts.push_back(std::string("client error ") + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code)) +
                         ": " + reason);
  });
  rd_kafka_conf_set_opaque(conf, &out);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    out.texts.push_back(std::string("rd_kafka_new: ") + err);
    return out;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  if (req.subscribe) {
    rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA);
    if (auto e = rd_kafka_subscribe(rk, list)) out.texts.push_back(std::string("subscribe: ") + rd_kafka_err2str(e));
  } else {
    for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (auto e = rd_kafka_assign(rk, list)) out.texts.push_back(std::string("assign: ") + rd_kafka_err2str(e));
  }
  rd_kafka_topic_partition_list_destroy(list);
  auto poll_once = [&] {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) return;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      auto bytes = [](const void* p, std::size_t n) { return p ? std::string(static_cast<const char*>(p), n) : std::string(); };
      out.got.push_back(record{m->partition, m->offset, bytes(m->key, m->key_len), bytes(m->payload, m->len)});
      out.ended.erase(m->partition);
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      out.ended.insert(m->partition);
    } else {
      out.codes.insert(m->err);
      if (out.texts.size() < 50)
        out.texts.push_back(std::string("message error ") + rd_kafka_err2name(m->err) + ": " + rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  };
  auto done = [&] {
    return (req.wanted != 0 && out.codes.contains(req.wanted)) ||
           (req.until_end && out.ended.size() == static_cast<std::size_t>(partitions));
  };
  while (clock::now() < deadline && !done()) poll_once();
  for (const auto settle = clock::now() + 1s; clock::now() < settle;) poll_once();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

// Everything wrong with what `who` received, "" when it is exactly its view: every expected
// customer once, nothing else, each value as the oracle says, key unchanged (the oracle looks the
// record up by it), each at the partition and offset it was stored at, offsets increasing.
std::string verify_view(const oracle& o, reader who, const std::vector<record>& got,
                        const std::map<std::string, position>& stored_at) {
  std::ostringstream problems;
  const auto want = o.expected_keys(who);
  std::map<std::string, int> seen;
  std::map<std::int32_t, std::int64_t> last_offset;
  std::size_t wrong_values = 0, wrong_positions = 0, backwards = 0;
  std::vector<std::string> examples;
  auto example = [&](const std::string& text) {
    if (examples.size() < 8) examples.push_back(text);
  };
  for (const auto& r : got) {
    ++seen[r.key];
    if (auto problem = o.check(who, r.key, r.value)) {
      ++wrong_values;
      example(*problem);
    }
    if (auto it = stored_at.find(r.key); it != stored_at.end() && it->second != position{r.partition, r.offset}) {
      ++wrong_positions;
      example("customer " + r.key + " delivered at p" + std::to_string(r.partition) + "@" + std::to_string(r.offset) +
              ", stored at p" + std::to_string(it->second.first) + "@" + std::to_string(it->second.second));
    }
    if (auto it = last_offset.find(r.partition); it != last_offset.end() && r.offset <= it->second) {
      ++backwards;
      example("p" + std::to_string(r.partition) + " offset " + std::to_string(r.offset) + " after " +
              std::to_string(it->second));
    }
    last_offset[r.partition] = r.offset;
  }
  std::size_t duplicates = 0, missing = 0;
  for (const auto& [key, n] : seen)
    if (n > 1) {
      ++duplicates;
      example("customer " + key + " delivered " + std::to_string(n) + " times");
    }
  for (const auto& key : want)
    if (!seen.contains(key)) {
      ++missing;
      example("customer " + key + " not delivered");
    }
  if (got.size() != want.size())
    problems << "received " << got.size() << " records, expected " << want.size() << "\n";
  if (wrong_values) problems << wrong_values << " records with the wrong key or value\n";
  if (wrong_positions) problems << wrong_positions << " records at another partition/offset than stored\n";
  if (backwards) problems << backwards << " offsets not increasing within a partition\n";
  if (duplicates) problems << duplicates << " customers delivered more than once\n";
  if (missing) problems << missing << " customers missing\n";
  if (problems.tellp() == 0) return "";
  problems << "first problems:\n" << joined(examples);
  return problems.str();
}

// What one team's consumer thread saw.
struct consumed {
  std::vector<record> records;
  std::vector<std::string> errors, client_errors;
  std::string failure, commit_error;
  std::map<std::int32_t, std::int64_t> committed;
  double seconds = 0;
};

// Subscribes in the team's own group and reads until it has `expected` records (or the
// deadline), then two seconds more: a duplicate or a record the view should drop would show up
// then. Commits its positions, as an application would. No Catch assertions off the test thread.
void consume_view(const std::string& bootstrap, reader who, std::size_t expected, clock::time_point deadline,
                  consumed& out) {
  const auto start = clock::now();
  try {
    const std::string name = shared_customers::name_of(who);
    consumer c(bootstrap, name + "-scenario", sasl(name));
    c.subscribe({topic});
    while (out.records.size() < expected && clock::now() < deadline)
      if (auto r = c.poll(100ms)) out.records.push_back(std::move(*r));
    for (const auto settle = std::min(deadline, clock::now() + 2s); clock::now() < settle;)
      if (auto r = c.poll(100ms)) out.records.push_back(std::move(*r));
    out.commit_error = c.commit_positions();
    if (who == reader::fraud) out.committed = c.committed(topic, partitions, 10s);
    c.close();
    out.errors = c.errors();
    out.client_errors = c.client_errors();
  } catch (const std::exception& e) {
    out.failure = e.what();
  }
  out.seconds = std::chrono::duration<double>(clock::now() - start).count();
}

constexpr std::array<const char*, 5> codecs{"none", "gzip", "snappy", "lz4", "zstd"};
constexpr int per_codec = 10'000;

}  // namespace

TEST_CASE("shared customers: ingest writes 50,000 customers with five codecs, then marketing, analytics, sales and "
          "fraud each read exactly their own view of the one topic, concurrently",
          "[e2e][scenario]") {
  scenario_gateway gw(load_scenario_config());
  const int total = static_cast<int>(codecs.size()) * per_codec;

  // The data, and what each team must see of it.
  const auto rows = generate(0, total);
  oracle o(hash_key, territory);
  fill_oracle(o, rows);
  REQUIRE(o.size() == static_cast<std::size_t>(total));
  int keys_out_of_order = 0;
  for (int i = 0; i < total; ++i) keys_out_of_order += rows[static_cast<std::size_t>(i)].first != std::to_string(i);
  REQUIRE(keys_out_of_order == 0);  // key = id, ids 0..total-1 in order
  // The data exercises the views: about half consent, a share is in the territory, and values
  // carry JSON escapes and non-ASCII text (raw and as \u escapes).
  const auto marketing_count = o.expected_count(reader::marketing), sales_count = o.expected_count(reader::sales);
  CHECK(marketing_count > static_cast<std::size_t>(total) * 4 / 10);
  CHECK(marketing_count < static_cast<std::size_t>(total) * 6 / 10);
  CHECK(sales_count > static_cast<std::size_t>(total) / 10);
  CHECK(sales_count < static_cast<std::size_t>(total) / 2);
  auto rows_with = [&](const std::string& needle) {
    return std::count_if(rows.begin(), rows.end(), [&](const key_value& r) { return r.second.find(needle) != std::string::npos; });
  };
  CHECK(rows_with("\\u") > 1000);
  CHECK(rows_with("\\\"") > 100);
  CHECK(rows_with("\\\\") > 100);
  CHECK(rows_with("\xc3") > 1000);  // raw UTF-8 (é, ö, ...)
  CHECK(rows_with("\"region\": \"us-west\"") + rows_with("\"region\":\"us-west\"") > 100);  // must not match US-WEST

  // ingest produces 10,000 customers per codec: the first half in the producer's usual large
  // batches, the second in batches of at most two records, so that the views also meet small
  // batches they keep partly and batches they drop entirely (a compressed batch left with no
  // records is where a gateway easily writes something clients cannot read). Every delivery is
  // confirmed.
  std::map<std::string, position> stored_at;  // from the delivery reports
  for (std::size_t round = 0; round < codecs.size(); ++round) {
    for (const int part : {0, 1}) {
      settings s = sasl("ingest");
      s.emplace_back("compression.codec", codecs[round]);
      s.emplace_back("enable.idempotence", round % 2 ? "true" : "false");  // needs IdempotentWrite on the cluster
      if (part == 1) s.emplace_back("batch.num.messages", "2");
      producer p(gw.bootstrap(), s);
      const auto first = rows.begin() + static_cast<std::ptrdiff_t>(round * per_codec + part * per_codec / 2);
      const std::vector<key_value> batch(first, first + per_codec / 2);
      const auto delivered = p.produce(topic, batch, clock::now() + 40s);
      INFO("codec " << codecs[round] << (part ? ", small batches" : ", large batches") << "\n"
                    << joined(p.errors()) << joined(p.client_errors()));
      REQUIRE(delivered.size() == batch.size());
      CHECK(p.errors().empty());
      CHECK(p.client_errors().empty());
      for (const auto& d : delivered) stored_at[d.key] = {d.partition, d.offset};
      CHECK(std::none_of(delivered.begin(), delivered.end(), [](const record& d) { return d.offset < 0; }));
    }
  }
  REQUIRE(stored_at.size() == static_cast<std::size_t>(total));

  // The broker holds all of them, as produced, where the delivery reports said (read directly).
  const auto stored = read_broker(gw.upstream(), clock::now() + 40s);
  INFO(stored.error);
  REQUIRE(stored.error.empty());
  std::int64_t held = 0;
  for (const auto& [p, m] : stored.marks) {
    INFO("partition " << p);
    CHECK(m.first == 0);  // nothing dropped by the embedded broker's size cap
    held += m.second;
  }
  CHECK(held == total);
  REQUIRE(stored.records.size() == static_cast<std::size_t>(total));
  {
    std::map<std::int32_t, std::size_t> bytes;
    std::size_t altered = 0, misplaced = 0;
    std::set<std::string> keys;
    for (const auto& r : stored.records) {
      keys.insert(r.key);
      bytes[r.partition] += r.key.size() + r.value.size();
      const auto id = std::stoul(r.key);
      altered += id >= rows.size() || rows[id].second != r.value;
      misplaced += stored_at.at(r.key) != position{r.partition, r.offset};
    }
    CHECK(keys.size() == static_cast<std::size_t>(total));
    CHECK(altered == 0);
    CHECK(misplaced == 0);
    for (const auto& [p, b] : bytes) {
      INFO("partition " << p << " holds " << b << " bytes of keys and values");
      CHECK(b < 4u * 1024 * 1024);  // well inside the mock's ~5 MB per partition
    }
  }

  // The four teams read concurrently, each in its own group.
  std::array<consumed, 4> results;
  {
    const auto deadline = clock::now() + 100s;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const reader who = shared_customers::all_readers[i];
      threads.emplace_back(consume_view, gw.bootstrap(), who, o.expected_count(who), deadline, std::ref(results[i]));
    }
    for (auto& t : threads) t.join();
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    const reader who = shared_customers::all_readers[i];
    const auto& r = results[i];
    INFO(shared_customers::name_of(who) << ": " << r.records.size() << " records in " << r.seconds << " s, expected "
                                        << o.expected_count(who) << "\nconsumer errors:\n"
                                        << joined(r.errors) << "client errors:\n"
                                        << joined(r.client_errors));
    CHECK(r.failure == "");
    CHECK(r.errors.empty());
    CHECK(r.client_errors.empty());
    CHECK(r.commit_error == "");
    CHECK(verify_view(o, who, r.records, stored_at) == "");
  }
  // Every view ends: a consumer reaches the end of each partition even where the view drops
  // the last records (what kcat -e and consumer lag depend on), with the same count.
  for (const reader who : shared_customers::all_readers) {
    const std::string name = shared_customers::name_of(who);
    const auto r = probe_consume(gw.bootstrap(), sasl(name), {.group = name + "-to-the-end", .until_end = true},
                                 clock::now() + 30s);
    INFO(name << ": " << r.describe());
    CHECK(r.ended.size() == static_cast<std::size_t>(partitions));
    CHECK(r.got.size() == o.expected_count(who));
    CHECK(r.codes.empty());
  }

  // fraud read everything: its group's committed offsets are the ends of the partitions.
  {
    std::map<std::int32_t, std::int64_t> ends;
    for (const auto& [p, m] : stored.marks) ends[p] = m.second;
    CHECK(results[3].committed == ends);
  }

  // Each client was the principal it logged in as, with PLAIN on the one listener.
  std::set<scenario_gateway::auth_event> want_events;
  for (const char* who : {"ingest", "marketing", "analytics", "sales", "fraud"})
    want_events.emplace(listener_name, who, "PLAIN");
  CHECK(gw.auth_events() == want_events);

  // Nothing made the broker create another topic.
  CHECK(broker_topics(gw.upstream()) == std::set<std::string>{topic});
}

TEST_CASE("shared customers: batches a view drops entirely or keeps in part reach the client readable in every "
          "codec, and the consumer reaches the end of each partition",
          "[e2e][scenario]") {
  // One or two records per batch: the marketing and sales views drop many batches whole. A
  // client must still be able to decode what it gets (librdkafka 2.0.2 aborts, in
  // rd_slice_init_full, on a zstd batch that decompresses to nothing) and must be moved past
  // the dropped batches to the end of the partition.
  scenario_gateway gw(load_scenario_config());
  constexpr int per_round = 60;
  const auto rows = generate(0, static_cast<int>(codecs.size()) * per_round);
  oracle o(hash_key, territory);
  fill_oracle(o, rows);
  std::map<std::string, position> stored_at;
  for (std::size_t round = 0; round < codecs.size(); ++round) {
    settings s = sasl("ingest");
    s.emplace_back("compression.codec", codecs[round]);
    s.emplace_back("batch.num.messages", round % 2 ? "2" : "1");
    producer p(gw.bootstrap(), s);
    const auto first = rows.begin() + static_cast<std::ptrdiff_t>(round * per_round);
    const std::vector<key_value> batch(first, first + per_round);
    const auto delivered = p.produce(topic, batch, clock::now() + 30s);
    INFO("codec " << codecs[round] << "\n" << joined(p.errors()) << joined(p.client_errors()));
    REQUIRE(delivered.size() == batch.size());
    for (const auto& d : delivered) stored_at[d.key] = {d.partition, d.offset};
  }
  for (const reader who : shared_customers::all_readers) {
    const std::string name = shared_customers::name_of(who);
    const auto r = probe_consume(gw.bootstrap(), sasl(name), {.group = name + "-small-batches", .until_end = true},
                                 clock::now() + 30s);
    INFO(name << ": " << r.describe());
    CHECK(r.ended.size() == static_cast<std::size_t>(partitions));
    CHECK(r.codes.empty());
    CHECK(verify_view(o, who, r.got, stored_at) == "");
  }
}

TEST_CASE("shared customers: ingest cannot read, readers cannot write or use another team's group, and a wrong "
          "password is an authentication error",
          "[e2e][scenario]") {
  scenario_gateway gw(load_scenario_config());
  constexpr int count = 300;
  const auto rows = generate(0, count);
  oracle o(hash_key, territory);
  fill_oracle(o, rows);
  {
    producer p(gw.bootstrap(), sasl("ingest"));
    const auto delivered = p.produce(topic, rows, clock::now() + 30s);
    INFO(joined(p.errors()) << joined(p.client_errors()));
    REQUIRE(delivered.size() == static_cast<std::size_t>(count));
  }

  // Control: marketing in a group of its own reads exactly its view, so the refusals below are
  // the policy at work and not a broken setup.
  {
    consumer c(gw.bootstrap(), "marketing-control", sasl("marketing"));
    c.subscribe({topic});
    std::vector<record> got;
    std::array<consumer*, 1> one{&c};
    const auto expected = o.expected_count(reader::marketing);
    poll_until(one, [&](std::size_t, record&& r) { got.push_back(std::move(r)); },
               [&] { return got.size() >= expected; }, clock::now() + 40s);
    for (const auto settle = clock::now() + 1s; clock::now() < settle;)
      if (auto r = c.poll(100ms)) got.push_back(std::move(*r));
    c.close();
    INFO(joined(c.errors()) << joined(c.client_errors()));
    CHECK(verify_view(o, reader::marketing, got, {}) == "");
    CHECK(c.errors().empty());
  }

  {
    INFO("ingest reading customers gets TOPIC_AUTHORIZATION_FAILED and no record");
    gw.clear_auth_events();
    const auto r = probe_consume(gw.bootstrap(), sasl("ingest"),
                                 {.group = "ingest-probe", .wanted = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED},
                                 clock::now() + 30s);
    INFO(r.describe());
    CHECK(r.codes.contains(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
    CHECK(r.got.empty());
    CHECK(gw.auth_events() == std::set<scenario_gateway::auth_event>{{listener_name, "ingest", "PLAIN"}});
  }
  {
    INFO("marketing in the group sales-x gets GROUP_AUTHORIZATION_FAILED and no record");
    const auto r = probe_consume(gw.bootstrap(), sasl("marketing"),
                                 {.group = "sales-x", .subscribe = true, .wanted = RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED},
                                 clock::now() + 30s);
    INFO(r.describe());
    CHECK(r.codes.contains(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED));
    CHECK(r.got.empty());
  }
  {
    INFO("marketing writing customers gets TOPIC_AUTHORIZATION_FAILED in its delivery report");
    producer p(gw.bootstrap(), sasl("marketing"));
    const auto delivered = p.produce(topic, {{"999999", R"({"id": 999999})"}}, clock::now() + 30s);
    INFO(joined(p.errors()) << joined(p.client_errors()));
    CHECK(delivered.empty());
    CHECK(p.errors().size() == 1);
    CHECK(contains(p.errors(), rd_kafka_err2str(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)));
  }
  {
    INFO("marketing with a wrong password gets an authentication error, no identity and no record");
    gw.clear_auth_events();
    const auto r = probe_consume(gw.bootstrap(), sasl("marketing", "not-the-password"),
                                 {.group = "marketing-login", .wanted = RD_KAFKA_RESP_ERR__AUTHENTICATION},
                                 clock::now() + 20s);
    INFO(r.describe());
    CHECK(r.codes.contains(RD_KAFKA_RESP_ERR__AUTHENTICATION));
    CHECK(r.got.empty());
    CHECK(gw.auth_events().empty());
  }

  // Whatever was refused, the broker holds exactly what ingest wrote (read directly).
  const auto stored = read_broker(gw.upstream(), clock::now() + 20s);
  INFO(stored.error);
  REQUIRE(stored.error.empty());
  REQUIRE(stored.records.size() == static_cast<std::size_t>(count));
  for (const auto& r : stored.records) {
    const auto id = std::stoul(r.key);
    REQUIRE(id < rows.size());
    CHECK(rows[id].second == r.value);
  }
}

}  // namespace kgw::e2e

// gateway_bench: throughput, latency and CPU cost of the gateway against the same broker reached
// directly. Driven by bench/run.sh, which starts the broker (`kafka-gateway dev-cluster`) and the
// gateway as separate processes and passes their addresses and pids.
//
// One run = R rounds; each round measures the direct path, then the gateway path, then (with
// --gateway-tls) the gateway with TLS between client and gateway (gateway to broker stays
// plaintext); alternating, so noise hits all, each with:
//   produce   N records of S bytes, round-robin over all partitions, linger.ms=5, acks=all,
//             no compression; time from the first send to the last delivery report.
//   consume   the same N records, assigned (no group) from the round's first offsets, read P
//             times over (re-assigned each pass: the broker keeps only ~5 MB per partition, so
//             re-reading is how the consume side gets enough bytes to time); time from assign to
//             the last record, summed over the passes.
//   latency   L records, linger.ms=0, acks=all, at most W in flight (closed loop); per-message
//             time from send to its delivery report.
// Medians over rounds are reported. CPU is utime+stime from /proc/PID/stat, sampled around
// each gateway round, divided by the payload bytes the gateway carried (produced + consumed).
//
// Threading: single-threaded driver; librdkafka runs its own threads.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

using settings = std::vector<std::pair<std::string, std::string>>;

struct options {
  std::string direct, gateway;
  std::string gateway_tls, tls_ca;  // client -> gateway over TLS (gateway -> broker plaintext)
  long gateway_pid = 0, broker_pid = 0;
  std::string topic_direct = "bench-direct", topic_gateway = "bench-gw", topic_tls = "bench-tls";
  int partitions = 48;
  int rounds = 3;
  int records = 40'000;
  int record_size = 1024;
  int latency_records = 2'000;
  int latency_inflight = 8;
  int consume_passes = 10;
  int timeout_s = 60;  // per phase
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "gateway_bench: %s\n", msg.c_str());
  std::exit(1);
}

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

rd_kafka_t* make_client(rd_kafka_type_t type, const settings& base, const settings& extra, void* opaque = nullptr,
                        void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto* list : {&base, &extra})
    for (const auto& [k, v] : *list)
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        die("config " + k + "=" + v + ": " + err);
  if (dr) rd_kafka_conf_set_dr_msg_cb(conf, dr);
  if (opaque) rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die(std::string("rd_kafka_new: ") + err);
  return rk;
}

// --- CPU accounting from /proc

double cpu_seconds(long pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');  // comm may contain spaces; fields after it are plain
  if (paren == std::string::npos) die("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream f(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && f >> field; ++i) {  // field 3 is state; utime = 14, stime = 15
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// --- producer with per-message delivery bookkeeping

struct producer_state {
  std::vector<clock_type::time_point> sent;
  std::vector<double> latency_ms;           // filled when track_latency
  std::map<std::int32_t, std::int64_t> first_offset;  // partition -> lowest offset this phase
  std::size_t outstanding = 0, failed = 0;
  clock_type::time_point last_delivery;
  bool track_latency = false;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<producer_state*>(opaque);
  auto now = clock_type::now();
  --s->outstanding;
  s->last_delivery = now;
  if (m->err) {
    if (s->failed++ == 0) s->first_error = rd_kafka_err2str(m->err);
    return;
  }
  auto idx = reinterpret_cast<std::uintptr_t>(m->_private);
  if (s->track_latency) s->latency_ms.push_back(std::chrono::duration<double, std::milli>(now - s->sent[idx]).count());
  auto it = s->first_offset.find(m->partition);
  if (it == s->first_offset.end() || m->offset < it->second) s->first_offset[m->partition] = m->offset;
}

class bench_producer {
 public:
  bench_producer(const std::string& bootstrap, bool latency_mode, const settings& extra) {
    rk_ = make_client(RD_KAFKA_PRODUCER,
                      {{"bootstrap.servers", bootstrap},
                       {"acks", "all"},
                       {"linger.ms", latency_mode ? "0" : "5"},
                       {"batch.size", "1000000"},
                       {"compression.type", "none"},
                       {"queue.buffering.max.messages", "1000000"},
                       {"queue.buffering.max.kbytes", "1048576"},
                       {"message.timeout.ms", "60000"},
                       {"log.connection.close", "false"}},
                      extra, &state_, &on_delivery);
  }
  ~bench_producer() {
    rd_kafka_flush(rk_, 5000);
    rd_kafka_destroy(rk_);
  }

  // Throughput phase. Returns seconds from first send to last delivery report.
  double run_throughput(const std::string& topic, int partitions, int n, const std::string& payload,
                        clock_type::time_point deadline) {
    reset(n, false);
    const auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i) send(topic, i % partitions, payload, i, deadline);
    wait_all(deadline);
    return seconds(state_.last_delivery - t0);
  }

  // Latency phase: at most `inflight` outstanding. Returns per-message latencies (ms).
  std::vector<double> run_latency(const std::string& topic, int partitions, int n, int inflight,
                                  const std::string& payload, clock_type::time_point deadline) {
    reset(n, true);
    for (int i = 0; i < n; ++i) {
      while (state_.outstanding >= static_cast<std::size_t>(inflight)) {
        if (clock_type::now() > deadline) die("latency phase: deadline passed with deliveries outstanding");
        rd_kafka_poll(rk_, 1);
      }
      send(topic, i % partitions, payload, i, deadline);
    }
    wait_all(deadline);
    return state_.latency_ms;
  }

  const std::map<std::int32_t, std::int64_t>& first_offsets() const { return state_.first_offset; }
  void warm_up(const std::string& topic, int partitions, const std::string& payload) {
    run_throughput(topic, partitions, partitions * 4, payload, clock_type::now() + 30s);
  }

 private:
  void reset(int n, bool latency) {
    state_.sent.assign(static_cast<std::size_t>(n), {});
    state_.latency_ms.clear();
    state_.latency_ms.reserve(static_cast<std::size_t>(n));
    state_.first_offset.clear();
    state_.failed = 0;
    state_.track_latency = latency;
  }
  void send(const std::string& topic, int partition, const std::string& payload, int i, clock_type::time_point deadline) {
    for (;;) {
      state_.sent[static_cast<std::size_t>(i)] = clock_type::now();
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(i))), RD_KAFKA_V_END);
      if (!err) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) die(std::string("produce: ") + rd_kafka_err2str(err));
      if (clock_type::now() > deadline) die("produce: deadline passed with the local queue full");
      rd_kafka_poll(rk_, 1);
    }
    ++state_.outstanding;
    rd_kafka_poll(rk_, 0);
  }
  void wait_all(clock_type::time_point deadline) {
    while (state_.outstanding > 0) {
      if (clock_type::now() > deadline) die("produce: deadline passed, " + std::to_string(state_.outstanding) + " outstanding");
      rd_kafka_poll(rk_, 1);
    }
    if (state_.failed) die(std::to_string(state_.failed) + " deliveries failed, first: " + state_.first_error);
  }

  producer_state state_;
  rd_kafka_t* rk_ = nullptr;
};

class bench_consumer {
 public:
  bench_consumer(const std::string& bootstrap, const settings& extra) {
    // group.id only because librdkafka 2.0.2 refuses assign() without one; it never joins.
    rk_ = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                          {"group.id", "gateway-bench"},
                                          {"enable.auto.commit", "false"},
                                          {"enable.partition.eof", "false"},
                                          {"fetch.wait.max.ms", "10"},
                                          {"log.connection.close", "false"}},
                      extra);
    rd_kafka_poll_set_consumer(rk_);
    const rd_kafka_metadata_t* md = nullptr;  // opens the bootstrap connection before timing
    if (rd_kafka_metadata(rk_, 1, nullptr, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_metadata_destroy(md);
  }
  ~bench_consumer() {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  // Reads `n` records starting at `from` (partition -> offset). Returns seconds assign -> last.
  double run(const std::string& topic, const std::map<std::int32_t, std::int64_t>& from, std::size_t n,
             std::size_t expect_size, clock_type::time_point deadline) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(from.size()));
    for (const auto& [p, o] : from) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = o;
    const auto t0 = clock_type::now();
    if (rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list)) die(std::string("assign: ") + rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(list);
    std::size_t got = 0;
    clock_type::time_point last = t0;
    while (got < n) {
      if (clock_type::now() > deadline) die("consume: deadline passed after " + std::to_string(got) + " of " + std::to_string(n));
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (!m) continue;
      if (m->err)
        std::fprintf(stderr, "gateway_bench: consume: %s\n", rd_kafka_message_errstr(m));
      else if (m->len != expect_size)
        die("consume: record of " + std::to_string(m->len) + " bytes, expected " + std::to_string(expect_size));
      else
        ++got, last = clock_type::now();
      rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk_, nullptr);
    return seconds(last - t0);
  }

 private:
  rd_kafka_t* rk_ = nullptr;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}
double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

struct round_result {
  double produce_mbps, consume_mbps, p50_ms, p99_ms;
  double bytes;  // payload bytes carried (produce + consume + latency phase)
};

struct target {
  std::string name, bootstrap, topic;
  settings client;  // extra client settings (TLS)
  std::optional<bench_producer> throughput, latency;
  std::optional<bench_consumer> reader;
  std::vector<round_result> rounds;
  double gateway_cpu = 0, broker_cpu = 0, bytes = 0;
};

round_result run_round(target& t, const options& o, const std::string& payload) {
  const auto deadline = [&] { return clock_type::now() + std::chrono::seconds(o.timeout_s); };
  round_result r{};
  const double mb = static_cast<double>(o.records) * o.record_size / 1e6;
  r.produce_mbps = mb / t.throughput->run_throughput(t.topic, o.partitions, o.records, payload, deadline());
  double consume_s = 0;
  for (int pass = 0; pass < o.consume_passes; ++pass) {
    // Untimed pause: lets the long-poll Fetch each broker holds at the log end (fetch.wait.max.ms)
    // return, so every pass starts like the first instead of queueing behind it.
    std::this_thread::sleep_for(30ms);
    consume_s += t.reader->run(t.topic, t.throughput->first_offsets(), static_cast<std::size_t>(o.records),
                               payload.size(), deadline());
  }
  r.consume_mbps = mb * o.consume_passes / consume_s;
  auto lat = t.latency->run_latency(t.topic, o.partitions, o.latency_records, o.latency_inflight, payload, deadline());
  if (lat.size() > 100) lat.erase(lat.begin(), lat.begin() + 100);  // connection warm-up
  r.p50_ms = percentile(lat, 0.50);
  r.p99_ms = percentile(lat, 0.99);
  r.bytes = (static_cast<double>(o.records) * (1 + o.consume_passes) + o.latency_records) * o.record_size;
  return r;
}

std::optional<long> to_long(const char* s) {
  long v = 0;
  auto [p, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc{} || *p) return std::nullopt;
  return v;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    auto num = [&](long lo, long hi) {
      const char* v = next();
      auto n = to_long(v);
      if (!n || *n < lo || *n > hi) die(a + " must be a number " + std::to_string(lo) + ".." + std::to_string(hi));
      return *n;
    };
    if (a == "--direct") o.direct = next();
    else if (a == "--gateway") o.gateway = next();
    else if (a == "--gateway-pid") o.gateway_pid = num(1, 1L << 30);
    else if (a == "--gateway-tls") o.gateway_tls = next();
    else if (a == "--tls-ca") o.tls_ca = next();
    else if (a == "--topic-tls") o.topic_tls = next();
    else if (a == "--broker-pid") o.broker_pid = num(1, 1L << 30);
    else if (a == "--topic-direct") o.topic_direct = next();
    else if (a == "--topic-gateway") o.topic_gateway = next();
    else if (a == "--partitions") o.partitions = static_cast<int>(num(1, 10000));
    else if (a == "--rounds") o.rounds = static_cast<int>(num(1, 99));
    else if (a == "--records") o.records = static_cast<int>(num(100, 10'000'000));
    else if (a == "--record-size") o.record_size = static_cast<int>(num(1, 1 << 20));
    else if (a == "--latency-records") o.latency_records = static_cast<int>(num(200, 1'000'000));
    else if (a == "--latency-inflight") o.latency_inflight = static_cast<int>(num(1, 10000));
    else if (a == "--consume-passes") o.consume_passes = static_cast<int>(num(1, 1000));
    else if (a == "--timeout") o.timeout_s = static_cast<int>(num(1, 3600));
    else if (a == "-h" || a == "--help") {
      std::puts(
          "usage: gateway_bench --direct BOOTSTRAP [--gateway BOOTSTRAP --gateway-pid PID] [--broker-pid PID]\n"
          "       [--gateway-tls BOOTSTRAP --tls-ca CA.pem] [--topic-tls T]\n"
          "       [--topic-direct T] [--topic-gateway T] [--partitions 48] [--rounds 3] [--records 40000]\n"
          "       [--record-size 1024] [--latency-records 2000] [--latency-inflight 8] [--consume-passes 10]\n"
          "       [--timeout 60]\n"
          "Prints a Markdown table. Normally run through bench/run.sh.");
      std::exit(0);
    } else
      die("unknown argument '" + a + "' (see --help)");
  }
  if (o.direct.empty()) die("--direct BOOTSTRAP is required");
  if (!o.gateway_tls.empty() && o.tls_ca.empty()) die("--gateway-tls needs --tls-ca");
  // The mock broker keeps ~5 MB per partition; stay well below so no round's data is dropped.
  const double per_partition = (static_cast<double>(o.records) + o.latency_records) * o.rounds * o.record_size / o.partitions;
  if (per_partition > 3.2e6)
    die("this would put " + std::to_string(static_cast<int>(per_partition / 1e6 * 10) / 10.0) +
        " MB in each partition; the embedded broker keeps only ~5 MB per partition (lower --records or --rounds)");
  return o;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  std::string payload(static_cast<std::size_t>(o.record_size), '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 2654435761u) >> 13);

  std::vector<target> targets;
  targets.push_back(target{"direct", o.direct, o.topic_direct, {}, {}, {}, {}, {}, 0, 0, 0});
  if (!o.gateway.empty()) targets.push_back(target{"gateway", o.gateway, o.topic_gateway, {}, {}, {}, {}, {}, 0, 0, 0});
  if (!o.gateway_tls.empty())
    // socket.nagle.disable: librdkafka writes a request over TLS as several TLS records; with
    // Nagle on (its default) the second waits for the peer's delayed ACK, 40 ms per request on
    // Linux, whoever the peer is. librdkafka's advice for TLS latency is to disable Nagle.
    targets.push_back(target{"gateway TLS", o.gateway_tls, o.topic_tls,
                             {{"security.protocol", "SSL"}, {"ssl.ca.location", o.tls_ca}, {"socket.nagle.disable", "true"}},
                             {}, {}, {}, {}, 0, 0, 0});
  for (auto& t : targets) {
    t.throughput.emplace(t.bootstrap, false, t.client);
    t.latency.emplace(t.bootstrap, true, t.client);
    t.reader.emplace(t.bootstrap, t.client);
    t.throughput->warm_up(t.topic, o.partitions, payload);
    t.latency->warm_up(t.topic, o.partitions, payload);
  }

  for (int round = 1; round <= o.rounds; ++round) {
    for (auto& t : targets) {
      const double gw0 = cpu_seconds(o.gateway_pid), br0 = cpu_seconds(o.broker_pid);
      round_result r = run_round(t, o, payload);
      if (t.name != "direct") t.gateway_cpu += cpu_seconds(o.gateway_pid) - gw0;
      t.broker_cpu += cpu_seconds(o.broker_pid) - br0;
      t.bytes += r.bytes;
      t.rounds.push_back(r);
      std::fprintf(stderr, "round %d %-11s produce %7.1f MB/s  consume %7.1f MB/s  p50 %6.3f ms  p99 %6.3f ms\n", round,
                   t.name.c_str(), r.produce_mbps, r.consume_mbps, r.p50_ms, r.p99_ms);
    }
  }

  auto med = [](const target& t, double round_result::*field) {
    std::vector<double> v;
    for (const auto& r : t.rounds) v.push_back(r.*field);
    return median(v);
  };
  struct row {
    const char* name;
    double round_result::*field;
    const char* f;
  };
  const row rows[] = {{"produce throughput (MB/s)", &round_result::produce_mbps, "%.1f"},
                      {"consume throughput (MB/s)", &round_result::consume_mbps, "%.1f"},
                      {"produce latency p50 (ms)", &round_result::p50_ms, "%.3f"},
                      {"produce latency p99 (ms)", &round_result::p99_ms, "%.3f"}};
  // One column per target, each gateway target followed by its ratio to direct.
  std::printf("| metric (median of %d rounds) | direct |", o.rounds);
  for (std::size_t i = 1; i < targets.size(); ++i) std::printf(" %s | %s/direct |", targets[i].name.c_str(), targets[i].name.c_str());
  std::printf("\n|---|---:|");
  for (std::size_t i = 1; i < targets.size(); ++i) std::printf("---:|---:|");
  std::printf("\n");
  for (const auto& r : rows) {
    const double d = med(targets[0], r.field);
    std::printf("| %s | %s |", r.name, fmt(r.f, d).c_str());
    for (std::size_t i = 1; i < targets.size(); ++i) {
      const double g = med(targets[i], r.field);
      std::printf(" %s | %s |", fmt(r.f, g).c_str(), fmt("%.2f", d > 0 ? g / d : 0).c_str());
    }
    std::printf("\n");
  }
  std::printf("\n");
  if (o.gateway_pid)
    for (std::size_t i = 1; i < targets.size(); ++i)
      std::printf("Gateway CPU, %s rounds: %.2f s per GB proxied (utime+stime %.2f s over %.3f GB of payload, produced + consumed).\n",
                  targets[i].name.c_str(), targets[i].gateway_cpu / (targets[i].bytes / 1e9), targets[i].gateway_cpu,
                  targets[i].bytes / 1e9);
  if (o.broker_pid)
    for (const auto& t : targets)
      std::printf("Broker CPU, %s rounds: %.2f s per GB (%.2f s over %.3f GB).\n", t.name.c_str(),
                  t.broker_cpu / (t.bytes / 1e9), t.broker_cpu, t.bytes / 1e9);
  std::printf(
      "\nSettings: %d records x %d B per round over %d partitions; produce linger.ms=5, batch.size=1000000, acks=all, "
      "no compression; consume by assign (no group), fetch.wait.max.ms=10, the round's records read %d times; "
      "latency: %d records, linger.ms=0, acks=all, at most %d in flight, first 100 dropped. "
      "MB = 10^6 bytes of record payload.\n",
      o.records, o.record_size, o.partitions, o.consume_passes, o.latency_records, o.latency_inflight);
  if (!o.gateway_tls.empty())
    std::printf("gateway TLS: client to gateway over TLS (gateway to broker plaintext); TLS clients set "
                "socket.nagle.disable=true.\n");
  return 0;
}

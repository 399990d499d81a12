// End-to-end back-pressure (issue 14, part 4): 100 stalled consumers, raw connections that send
// Fetch requests for a topic a producer keeps busy and then never read their socket, against a
// gateway process in front of the embedded broker (`kafka-gateway dev-cluster`, its own process).
// The gateway must stop reading a stalled connection's broker answers once its client write
// blocks, so its memory (VmRSS, read from /proc) stays bounded by what each connection may hold,
// and a normal consumer on another connection keeps reading. Once pass-through, once through a
// masking view: a governed Fetch response is buffered whole, and rewritten, before it is sent.
//
// Each stalled client asks for 8 responses of up to 1 MiB (a response of the mock holds one
// record batch per partition, rd_kafka_mock_handle_Fetch, and a batch is at most the producer's
// batch.size, 256 KiB, x 4 partitions): more than the kernel takes on the way (the gateway's send
// buffer grows to tcp_wmem's 4 MiB), so the gateway itself must hold the rest back. The bounds,
// per stalled connection:
//   pass-through: the two base receive buffers (frame_buffer::min_read each way) and one more of
//                 that size: large responses cut through and the rest is spliced in the kernel;
//   governed:     the whole response being written, its rewrite, a spare of the same size for
//                 the decode, and the base buffers.
// A gateway that read on while its client write waits would hold up to all 8 responses: about
// 8 MiB per connection, over either bound.
//
// Progress is checked with a consumer that connects once the clients stalled and reads from the
// log end then, next to one that reads the same straight from the broker. With 100 connections
// holding megabytes of unsent answers the mock serves every Fetch slowly (tens of records a
// second, through the gateway and direct alike); the consumer that was reading before the stall
// got nothing more in 40 s in every run, through the gateway (not checked direct).
//
// Ports are fixed: 17490-17549 (see fault_e2e_test.cpp for why this range).
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "tests/e2e/dev_cluster_process.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/gateway_process.h"
#include "tests/e2e/process_stats.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/scratch_dir.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace proto = kgw::protocol;

const std::string topic = "busy";
constexpr int partitions = 4;
constexpr int stalled_count = 100;
constexpr int fetches_per_stalled = 8;
constexpr std::size_t batch_bytes = 256 * 1024;  // the producer's batch.size
constexpr std::size_t largest_response = partitions * batch_bytes + 4096;  // one batch per partition, and framing
constexpr std::size_t base_buffer = 64 * 1024;  // frame_buffer::min_read
constexpr std::size_t value_bytes = 4 * 1024;

// A JSON record with an email (what the view masks) padded to value_bytes.
std::string json_value(std::size_t n) {
  std::string v = "{\"id\":" + std::to_string(n) + ",\"email\":\"user" + std::to_string(n) + "@example.com\",\"pad\":\"";
  v.append(value_bytes - v.size() - 2, 'x');
  return v + "\"}";
}

// Keeps the topic busy from its own thread: 256 JSON records a call (a full batch per partition),
// each call waiting for its delivery reports, until stopped.
class busy_producer {
 public:
  explicit busy_producer(const std::string& bootstrap)
      : p_(bootstrap, {{"linger.ms", "20"}, {"batch.size", std::to_string(batch_bytes)}, {"acks", "1"}}) {
    thread_ = std::thread([this] {
      std::size_t n = 0;
      while (!stop_) {
        std::vector<key_value> batch;
        for (int i = 0; i < 256; ++i, ++n) batch.emplace_back("k" + std::to_string(n), json_value(n));
        acked_ += p_.produce(topic, batch, clock::now() + 30s).size();
      }
    });
  }
  ~busy_producer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::size_t acked() const { return acked_; }

 private:
  producer p_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> acked_{0};
  std::thread thread_;
};

// A client that sends its Fetch requests and never reads: a small receive buffer, so the
// gateway's writes to it block early.
class stalled_consumer {
 public:
  // marks: partition -> {low, high} watermarks.
  stalled_consumer(std::uint16_t port, const std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>>& marks) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 8 * 1024;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    // Requests at offsets spread over the log: each answer is another batch.
    for (int i = 0; i < fetches_per_stalled && connected_; ++i) {
      proto::fetch_request f;
      f.max_wait_ms = 500;
      f.min_bytes = 1;
      f.max_bytes = 4 << 20;
      auto& t = f.topics.emplace_back();
      t.topic = topic;
      for (const auto& [partition, mark] : marks) {
        auto& p = t.partitions.emplace_back();
        p.partition = partition;
        p.fetch_offset = mark.first + (mark.second - mark.first) * i / fetches_per_stalled;
        p.partition_max_bytes = 4 << 20;
      }
      const auto bytes = proto::encode_request(f, 4, i + 1, "stalled").flatten();
      connected_ = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
  }
  ~stalled_consumer() { ::close(fd_); }
  bool connected() const { return connected_; }
  // Bytes the gateway sent that this client has not read (they wait in its receive buffer).
  std::size_t unread() const {
    int n = 0;
    ::ioctl(fd_, FIONREAD, &n);
    return static_cast<std::size_t>(n);
  }
  bool answered() const { return unread() > 0; }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

struct scenario {
  const char* name;
  std::uint16_t base;  // listen; broker ports base+1..base+10; admin base+11
  const char* policies;
  std::size_t per_connection;  // what the gateway may hold for one stalled connection
};

}  // namespace

TEST_CASE("back-pressure: 100 stalled consumers keep the gateway's memory bounded and a normal consumer reads on",
          "[e2e][backpressure]") {
  const scenario sc = GENERATE(scenario{"pass-through", 17490, "", 3 * base_buffer},
                               scenario{"governed (masking view)", 17520,
                                        "policies:\n  views:\n    - everyone: true\n      topics: [busy]\n"
                                        "      mask:\n        - { field: email, function: redact }\n",
                                        3 * largest_response + 2 * base_buffer});
  INFO(sc.name);
  const auto started = clock::now();
  REQUIRE(ports_free(sc.base, 12));
  scratch_dir dir("backpressure-" + std::to_string(sc.base), true);  // kept if a REQUIRE fails
  dev_cluster_process broker(1, {{topic, partitions}}, dir.path / "broker.log");
  std::ostringstream y;
  y << "gateway:\n  listen: 127.0.0.1:" << sc.base << "\n  advertised_host: 127.0.0.1\n  broker_ports: "
    << sc.base + 1 << "-" << sc.base + 10 << "\n  workers: 2\n"
    << "upstream:\n  bootstrap: \"" << broker.bootstrap() << "\"\n"
    << "admin:\n  listen: 127.0.0.1:" << sc.base + 11 << "\n"
    << sc.policies;
  std::ofstream(dir.path / "gateway.yaml") << y.str();
  gateway_process gw(dir.path / "gateway.yaml", dir.path / "gateway", "127.0.0.1:" + std::to_string(sc.base + 11));
  gw.start();
  REQUIRE(gw.ready(clock::now() + 20s));
  const std::string bootstrap = "127.0.0.1:" + std::to_string(sc.base);
  INFO("files (config, logs) in " << dir.path);

  busy_producer busy(bootstrap);
  // A small prefetch queue (librdkafka keeps up to 64 MiB by default), so what it reads is fetched
  // while the test watches.
  consumer normal(bootstrap, "", {{"queued.max.messages.kbytes", "2048"}});
  normal.assign_all(topic, partitions);
  std::size_t normal_read = 0, fresh = 0;
  std::map<std::int32_t, std::int64_t> fresh_from;  // partition -> the log end when the stall began
  consumer* also = nullptr;  // the late consumer, once there
  std::size_t direct_read = 0;
  consumer* direct_consumer = nullptr;
  std::size_t* also_read = nullptr;
  auto read_for = [&](std::chrono::milliseconds d) {
    const auto until = clock::now() + d;
    while (clock::now() < until) {
      if (auto r = normal.poll(also ? 25ms : 50ms)) {
        ++normal_read;
        if (auto it = fresh_from.find(r->partition); it != fresh_from.end() && r->offset >= it->second) ++fresh;
      }
      if (also && also->poll(25ms)) ++*also_read;
      if (direct_consumer && direct_consumer->poll(0ms)) ++direct_read;
    }
  };
  // Warm up: the producer's batches flow and the normal consumer reads them through the gateway.
  read_for(5s);
  REQUIRE(normal_read > 200);
  REQUIRE(busy.acked() > 1000);
  const std::size_t before = resident_bytes(gw.pid());

  // Four at a time, each group once answered: the gateway opens a broker connection per client
  // connection, and the mock listens with a backlog of 5 (rd_kafka_mock_broker_start_listener),
  // so 100 at once overflow it; the kernel then retries the dropped SYNs at 1, 3, 7, 15 s and
  // some connections outlive the gateway's upstream connect timeout (10 s), which closes them.
  std::vector<std::unique_ptr<stalled_consumer>> stalled;
  // Each group asks where the log is now: the mock keeps ~5 MB per partition, which the producer
  // turns over every few seconds, and offsets before the log start get a small error answer.
  constexpr int group = 4;
  std::size_t peak = before;
  std::chrono::nanoseconds slowest{0};
  const auto connecting = clock::now();
  for (int first = 0; first < stalled_count; first += group) {
    INFO("stalled consumers from " << first);
    const auto marks = normal.watermarks(topic, partitions, 10s);
    REQUIRE(marks.size() == partitions);
    const auto t = clock::now();
    for (int i = first; i < std::min(first + group, stalled_count); ++i) {
      stalled.push_back(std::make_unique<stalled_consumer>(sc.base, marks));
      REQUIRE(stalled.back()->connected());
    }
    auto all_answered = [&] {
      return std::all_of(stalled.begin() + first, stalled.end(), [](const auto& s) { return s->answered(); });
    };
    // The normal consumer reads meanwhile: one that falls behind by more than the mock keeps
    // (its fetch position out of range) stops for good with librdkafka 2.0.2 and the mock.
    while (!all_answered() && clock::now() - t < 10s) read_for(20ms);
    REQUIRE(all_answered());
    slowest = std::max<std::chrono::nanoseconds>(slowest, clock::now() - t);
    peak = std::max(peak, resident_bytes(gw.pid()));
  }
  const auto connected_in = clock::now() - connecting;
  for (const auto& [p, mark] : normal.watermarks(topic, partitions, 10s)) fresh_from[p] = mark.second;
  REQUIRE(fresh_from.size() == partitions);
  // A consumer that connects now, at the end of the log: new connections must be served too.
  consumer late(bootstrap, "", {{"queued.max.messages.kbytes", "2048"}});
  late.assign(topic, fresh_from);
  std::size_t late_read = 0;
  // The same straight from the broker (not through the gateway): tells the gateway's share of
  // any slowness from the mock's.
  consumer direct(broker.bootstrap(), "", {{"queued.max.messages.kbytes", "2048"}});
  direct.assign(topic, fresh_from);
  direct_consumer = &direct;
  also = &late;
  also_read = &late_read;
  // The gateway fills each stalled client's window and its own send buffer, and stops there:
  // sample until the memory stopped growing for 3 s and the normal consumer read 500 records
  // written since (at most 40 s). The highest RSS counts.
  const auto stall_start = clock::now();
  std::size_t with_data = 0, waiting = 0;
  int flat = 0;
  while (clock::now() - stall_start < 40s && (flat < 3 || late_read < 500)) {
    read_for(1s);
    const std::size_t now = resident_bytes(gw.pid());
    flat = now > peak + (256u << 10) ? 0 : flat + 1;
    peak = std::max(peak, now);
    with_data = waiting = 0;
    for (const auto& s : stalled) {
      waiting += s->unread();
      with_data += s->unread() > 0;
    }
  }
  const auto stalled_for = clock::now() - stall_start;
  const std::size_t in_kernel = send_queue_bytes(sc.base);
  const std::size_t bound = stalled_count * sc.per_connection + (32u << 20);
  WARN(sc.name << ": gateway VmRSS " << before / 1024 << " KiB before, peak " << peak / 1024 << " KiB with "
               << stalled_count << " stalled consumers (grew " << (peak - before) / 1024 << " KiB, bound "
               << bound / 1024 << " KiB = " << stalled_count << " x " << sc.per_connection / 1024
               << " KiB + 32 MiB); stalled clients connected in "
               << std::chrono::duration_cast<std::chrono::milliseconds>(connected_in).count() << " ms (slowest group answered in "
               << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
               << " ms); the gateway's send queues hold " << in_kernel / 1024 << " KiB in the kernel, "
               << with_data << " stalled clients " << waiting / 1024 << " KiB unread; normal consumer read "
               << fresh << " and a consumer connected then " << late_read
               << " (one straight from the broker " << direct_read << ") records written after the stall began in "
               << std::chrono::duration_cast<std::chrono::seconds>(stalled_for).count()
               << " s meanwhile; producer acknowledged " << busy.acked() << "; "
               << std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started).count() << " s");
  CHECK(with_data == stalled_count);  // every stalled client still holds answers it never read
  CHECK(peak - before <= bound);
  CHECK(late_read >= 500);

  // The stalled clients go all at once, answers unread (so the kernel resets their connections)
  // while the gateway is still writing to them: each session ends on its own, the gateway serves
  // on (a splice into a reset socket raises SIGPIPE, which once killed the whole process here)
  // and drains on SIGTERM.
  stalled.clear();
  const std::size_t acked_then = busy.acked();
  const auto closed_at = clock::now();
  while (busy.acked() < acked_then + 1024 && clock::now() - closed_at < 15s) read_for(100ms);
  CHECK(busy.acked() >= acked_then + 1024);
  busy.stop();
  const int exit_code = gw.stop(SIGTERM, 20s);
  CHECK(exit_code == 0);
  dir.keep = with_data < stalled_count || peak - before > bound || late_read < 500 || exit_code != 0;
}

}  // namespace kgw::e2e

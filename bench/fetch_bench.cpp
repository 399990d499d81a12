// fetch_bench: what relaying Fetch responses costs, per Fetch version, through the gateway and
// through HAProxy in TCP mode, against a broker that speaks every version. The embedded broker
// and librdkafka 2.0.2 stop at Fetch v11, so the broker here is a scripted one
// (tests/e2e/scripted_broker.h, in this process) that answers every Fetch with the same 1 MiB
// response (4 partitions x 256 KiB of records; from v16 with a KIP-951 node endpoint, which the
// gateway rewrites), and the client is a raw connection that keeps `--depth` Fetch requests in
// flight and reads the responses whole.
//
// Targets, one round each in turn (alternating, so noise hits all): the broker directly; the
// gateway (its own process, no policies: pass-through, splice and cut-through); HAProxy (its
// own process, one thread, TCP mode, `option splice-auto`: at its best). Reported: MB/s and the
// proxy process's CPU seconds per GB of responses, medians over rounds, per version.
//
// usage: fetch_bench --gateway-bin PATH --port BASE [--haproxy-bin PATH] [--versions 4,11,12,13,16]
//                    [--mb 500] [--rounds 3] [--depth 4]
// Uses ports BASE..BASE+10 (gateway listener and its broker ports) and BASE+11 (HAProxy).
// Threading: the driver is single-threaded; the scripted broker runs a thread per connection.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/proc_cpu.h"
#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "tests/e2e/scripted_broker.h"

namespace {
namespace proto = kgw::protocol;
using clock_type = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "fetch_bench: %s\n", why.c_str());
  std::exit(1);
}

// --- child processes (the gateway, HAProxy)

struct child {
  pid_t pid = -1;
  std::string name;
  ~child() { stop(); }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {  // 5 s, then SIGKILL
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return void(pid = -1);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

void spawn(child& c, const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  c.pid = pid;
  c.name = argv[0];
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void wait_listening(const child& c, std::uint16_t port, const std::string& log) {
  for (int i = 0; i < 100; ++i) {
    if (const int fd = connect_to(port); fd >= 0) return void(::close(fd));
    if (::waitpid(c.pid, nullptr, WNOHANG) == c.pid) {
      std::ifstream in(log);
      die(c.name + " exited before listening on " + std::to_string(port) + ":\n" +
          std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  die(c.name + " is not listening on " + std::to_string(port) + " after 10 s");
}

// --- the responses

// One Fetch response body (header included, no size) for `version`, correlation id 0 (patched
// per request): 2 topics x 2 partitions of 256 KiB of random-looking records, and from v16 a
// node endpoint for broker 1 (tests/e2e/scripted_broker.h).
std::vector<std::byte> response_template(std::int16_t version) {
  static const std::vector<std::string> records = [] {
    std::vector<std::string> r;
    std::uint32_t x = 2463534242u;
    for (int i = 0; i < 4; ++i) {
      std::string s(256 * 1024, '\0');
      for (auto& c : s) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        c = static_cast<char>(x);
      }
      r.push_back(std::move(s));
    }
    return r;
  }();
  return kgw::e2e::two_by_two_fetch(version, 0, records, "broker-1.kafka.internal.example.com");
}

// --- the client

using kgw::e2e::read_exact;
using kgw::e2e::write_all;

struct sample {
  double seconds = 0, bytes = 0, cpu = 0;  // cpu: the proxy's (0 direct)
};

// `responses` Fetch responses of `version` through `port`, `depth` requests in flight.
sample fetch_through(std::uint16_t port, long proxy_pid, std::int16_t version, int responses, int depth) {
  const int fd = connect_to(port);
  if (fd < 0) die("cannot connect to 127.0.0.1:" + std::to_string(port));
  std::int32_t next_corr = 1, expect = 1;
  auto send_one = [&] {
    const auto frame = proto::encode_request(proto::fetch_request{}, version, next_corr++, "fetch-bench").flatten();
    if (!write_all(fd, frame.data(), frame.size())) die("send failed on port " + std::to_string(port));
  };
  std::vector<std::byte> body;
  auto receive_one = [&]() -> std::size_t {
    std::byte size[4];
    if (!read_exact(fd, size, 4)) die("connection closed on port " + std::to_string(port));
    const std::uint32_t n = std::to_integer<std::uint32_t>(size[0]) << 24 | std::to_integer<std::uint32_t>(size[1]) << 16 |
                            std::to_integer<std::uint32_t>(size[2]) << 8 | std::to_integer<std::uint32_t>(size[3]);
    if (n < 8 || n > (64u << 20)) die("bad response size " + std::to_string(n));
    body.resize(n);
    if (!read_exact(fd, body.data(), n)) die("connection closed mid-response on port " + std::to_string(port));
    const std::int32_t corr = static_cast<std::int32_t>(std::to_integer<std::uint32_t>(body[0]) << 24 |
                                                        std::to_integer<std::uint32_t>(body[1]) << 16 |
                                                        std::to_integer<std::uint32_t>(body[2]) << 8 |
                                                        std::to_integer<std::uint32_t>(body[3]));
    if (corr != expect++) die("responses out of order");
    return n + 4;
  };
  // One untimed exchange: the gateway connects to the broker on the first request.
  send_one();
  receive_one();
  sample s;
  const double cpu0 = *kgw::bench::process_cpu_seconds(proxy_pid);
  const auto t0 = clock_type::now();
  for (int i = 0; i < std::min(depth, responses); ++i) send_one();
  for (int i = 0; i < responses; ++i) {
    s.bytes += static_cast<double>(receive_one());
    if (i + depth < responses) send_one();
  }
  s.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  s.cpu = *kgw::bench::process_cpu_seconds(proxy_pid) - cpu0;
  ::close(fd);
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct options {
  std::string gateway_bin, haproxy_bin;
  std::uint16_t port = 0;
  std::vector<std::int16_t> versions{4, 11, 12, 13, 16};
  int mb = 500, rounds = 3, depth = 4;
};

long number(const char* s, long lo, long hi, const char* what) {
  long v = 0;
  const auto [p, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc{} || *p || v < lo || v > hi)
    die(std::string(what) + " wants a number from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--gateway-bin") o.gateway_bin = next();
    else if (a == "--haproxy-bin") o.haproxy_bin = next();
    else if (a == "--port") o.port = static_cast<std::uint16_t>(number(next(), 1024, 65000, "--port"));
    else if (a == "--mb") o.mb = static_cast<int>(number(next(), 10, 100000, "--mb"));
    else if (a == "--rounds") o.rounds = static_cast<int>(number(next(), 1, 99, "--rounds"));
    else if (a == "--depth") o.depth = static_cast<int>(number(next(), 1, 64, "--depth"));
    else if (a == "--versions") {
      o.versions.clear();
      std::string list = next();
      for (std::size_t at = 0; at <= list.size();) {
        const auto comma = std::min(list.find(',', at), list.size());
        o.versions.push_back(static_cast<std::int16_t>(number(list.substr(at, comma - at).c_str(), 4, 17, "--versions")));
        at = comma + 1;
      }
    } else {
      die("unknown argument '" + a + "' (see the comment at the top of bench/fetch_bench.cpp)");
    }
  }
  if (o.gateway_bin.empty() || o.port == 0) die("--gateway-bin and --port are required");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  std::map<std::int16_t, std::vector<std::byte>> templates;
  for (auto v : o.versions) templates[v] = response_template(v);
  kgw::e2e::scripted_broker broker([&](std::int16_t key, std::int16_t version, std::int32_t corr) {
    auto it = templates.find(version);
    if (key != proto::api::fetch || it == templates.end()) return std::vector<std::byte>{};
    std::vector<std::byte> body = it->second;
    for (int i = 0; i < 4; ++i) body[static_cast<std::size_t>(i)] = static_cast<std::byte>(static_cast<std::uint32_t>(corr) >> (24 - 8 * i));
    return body;
  });

  char dir_template[] = "/tmp/kgw-fetch-bench.XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (!dir) die("mkdtemp failed");
  const std::string work = dir;
  const std::uint16_t gw_port = o.port, ha_port = static_cast<std::uint16_t>(o.port + 11);
  {
    std::ofstream y(work + "/gateway.yaml");
    y << "gateway:\n  listen: 127.0.0.1:" << gw_port << "\n  advertised_host: 127.0.0.1\n  broker_ports: " << gw_port + 1
      << "-" << gw_port + 10 << "\n  workers: 1\n  log_level: warn\nupstream:\n  bootstrap: [127.0.0.1:" << broker.port()
      << "]\n";
  }
  child gateway, haproxy;
  spawn(gateway, {o.gateway_bin, "--config", work + "/gateway.yaml"}, work + "/gateway.log");
  wait_listening(gateway, gw_port, work + "/gateway.log");
  if (!o.haproxy_bin.empty()) {
    std::ofstream h(work + "/haproxy.cfg");
    h << "global\n  nbthread 1\n  maxconn 100\n"
      << "defaults\n  mode tcp\n  option splice-auto\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n"
      << "frontend f\n  bind 127.0.0.1:" << ha_port << "\n  default_backend b\n"
      << "backend b\n  server s1 127.0.0.1:" << broker.port() << "\n";
    h.close();
    spawn(haproxy, {o.haproxy_bin, "-db", "-f", work + "/haproxy.cfg"}, work + "/haproxy.log");
    wait_listening(haproxy, ha_port, work + "/haproxy.log");
  }

  struct target {
    const char* name;
    std::uint16_t port;
    long pid;
  };
  std::vector<target> targets{{"direct", broker.port(), 0}, {"gateway", gw_port, gateway.pid}};
  if (haproxy.pid > 0) targets.push_back({"HAProxy", ha_port, haproxy.pid});
  const std::size_t response_bytes = templates.begin()->second.size();
  const int responses = static_cast<int>(static_cast<double>(o.mb) * 1e6 / static_cast<double>(response_bytes)) + 1;

  // results[version][target] = samples
  std::map<std::int16_t, std::map<std::string, std::vector<sample>>> results;
  for (int round = 1; round <= o.rounds; ++round)
    for (auto v : o.versions)
      for (const auto& t : targets) {
        const sample s = fetch_through(t.port, t.pid, v, responses, o.depth);
        results[v][t.name].push_back(s);
        std::fprintf(stderr, "round %d Fetch v%-2d %-8s %8.1f MB/s  %.2f CPU-s/GB\n", round, v, t.name,
                     s.bytes / 1e6 / s.seconds, t.pid ? s.cpu / (s.bytes / 1e9) : 0.0);
      }
  gateway.stop();
  haproxy.stop();
  std::filesystem::remove_all(work);

  auto med = [&](std::int16_t v, const std::string& t, auto f) {
    std::vector<double> x;
    for (const auto& s : results[v][t]) x.push_back(f(s));
    return median(x);
  };
  auto mbps = [](const sample& s) { return s.bytes / 1e6 / s.seconds; };
  auto cost = [](const sample& s) { return s.cpu / (s.bytes / 1e9); };
  const bool ha = targets.size() == 3;
  std::printf("| Fetch version (median of %d rounds, %d MB each) | direct (MB/s) | gateway (MB/s) | gateway CPU (s/GB) |%s\n",
              o.rounds, o.mb, ha ? " HAProxy (MB/s) | HAProxy CPU (s/GB) | gateway CPU / HAProxy CPU |" : "");
  std::printf("|---|---:|---:|---:|%s\n", ha ? "---:|---:|---:|" : "");
  for (auto v : o.versions) {
    const double gw_cost = med(v, "gateway", cost);
    std::printf("| v%d | %.0f | %.0f | %.2f |", v, med(v, "direct", mbps), med(v, "gateway", mbps), gw_cost);
    if (ha) {
      const double ha_cost = med(v, "HAProxy", cost);
      std::printf(" %.0f | %.2f | %.2f |", med(v, "HAProxy", mbps), ha_cost, ha_cost > 0 ? gw_cost / ha_cost : 0.0);
    }
    std::printf("\n");
  }
  std::printf("\nFetch versions: a scripted broker in the bench process answers every Fetch with the same response of "
              "~%zu KiB (4 partitions x 256 KiB of records; from v16 with a KIP-951 node endpoint, which the gateway "
              "rewrites); a raw client keeps %d requests in flight. The gateway has no policies (pass-through: "
              "cut-through and splice); HAProxy runs one thread in TCP mode with option splice-auto. CPU is the proxy "
              "process's utime+stime per GB of responses.\n",
              response_bytes / 1024, o.depth);
  return 0;
}

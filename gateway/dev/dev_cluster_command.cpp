#include "gateway/dev/dev_cluster_command.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/cli_args.h"
#include "gateway/dev/embedded_cluster.h"

namespace kgw::gateway {
namespace {

constexpr const char* usage_text =
    "usage: kafka-gateway dev-cluster [--brokers N] --topic NAME[:PARTITIONS] [--topic ...]\n"
    "\n"
    "Runs an in-process Kafka cluster (librdkafka's mock broker) on 127.0.0.1 until SIGINT or\n"
    "SIGTERM. Prints its bootstrap list (host:port,host:port,...) as the first line on stdout.\n"
    "\n"
    "  --brokers N                 number of brokers, ids 1..N (default 3, max 64)\n"
    "  --topic NAME[:PARTITIONS]   create a topic (default 1 partition); repeatable\n"
    "  --exit-with-stdin           stop when stdin ends (how the gateway runs `upstream.embedded`)\n"
    "  -h, --help                  show this help\n"
    "\n"
    "Limits of the mock: old API versions only (Metadata <= v2, Fetch <= v11, ...), no\n"
    "replication, at most ~5 MB kept per partition, unknown topics are auto-created by Metadata.\n";

struct options {
  int brokers = 3;
  std::vector<embedded_topic> topics;
  bool help = false;
  bool exit_with_stdin = false;
};

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The options, or why the arguments are wrong.
parsed parse(int argc, char** argv, options& out) {
  cli_args args(argc, argv);
  while (args.next()) {
    const std::string_view arg = args.name();
    if (arg == "-h" || arg == "--help") {
      out.help = true;
    } else if (arg == "--exit-with-stdin") {
      out.exit_with_stdin = true;
    } else if (arg == "--brokers") {
      auto v = args.value();
      if (!v) return bad("--brokers needs a value");
      auto n = parse_int(*v);
      if (!n || *n < 1 || *n > 64) return bad("--brokers must be a number 1..64, got '" + std::string(*v) + "'");
      out.brokers = *n;
    } else if (arg == "--topic") {
      auto v = args.value();
      if (!v) return bad("--topic needs a value NAME[:PARTITIONS]");
      embedded_topic t;
      auto colon = v->rfind(':');
      t.name = std::string(v->substr(0, colon));
      if (colon != std::string_view::npos) {
        auto n = parse_int(v->substr(colon + 1));
        if (!n || *n < 1 || *n > 10000)
          return bad("--topic " + std::string(*v) + ": partitions must be a number 1..10000");
        t.partitions = *n;
      }
      if (t.name.empty()) return bad("--topic " + std::string(*v) + ": empty topic name");
      for (const auto& existing : out.topics)
        if (existing.name == t.name) return bad("--topic " + t.name + " given twice");
      out.topics.push_back(std::move(t));
    } else {
      return bad("unknown argument '" + std::string(args.raw()) + "'");
    }
  }
  return {};
}

}  // namespace

int run_dev_cluster(int argc, char** argv) {
  options opts;
  const auto error = parse(argc, argv, opts);
  if (auto code = early_exit("dev-cluster", error, opts.help, usage_text)) return *code;

  // Block the signals before the mock starts its threads so they inherit the mask and the
  // signals are delivered only to sigwait() below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); rc != 0) {
    std::fprintf(stderr, "dev-cluster: pthread_sigmask failed (%d)\n", rc);
    return 1;
  }

  if (opts.exit_with_stdin) {
    // The gateway holds the other end of stdin: when it goes (even killed), so does the broker.
    std::thread([] {
      char buf[256];
      for (;;) {
        const ssize_t n = ::read(0, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
      }
      ::kill(::getpid(), SIGTERM);
    }).detach();
  }

  std::optional<embedded_cluster> cluster;
  try {
    cluster.emplace(opts.brokers, opts.topics);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dev-cluster: %s\n", e.what());
    return 1;
  }

  std::printf("%s\n", cluster->bootstrap().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "dev-cluster: %d broker(s) (ids 1..%d), %zu topic(s):", opts.brokers, opts.brokers,
               opts.topics.size());
  for (const auto& t : opts.topics) std::fprintf(stderr, " %s:%d", t.name.c_str(), t.partitions);
  std::fprintf(stderr, "; stop with Ctrl-C or SIGTERM\n");

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  std::fprintf(stderr, "dev-cluster: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  cluster.reset();
  return 0;
}

}  // namespace kgw::gateway

// kafka-gateway: command-line entry point.
#include <signal.h>
#include <sys/resource.h>

#include <charconv>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "config/log_levels.h"
#include "gateway/cli/explain_command.h"
#include "gateway/cli/health_command.h"
#include "gateway/cli/keys_command.h"
#include "gateway/cli/passwd_command.h"
#include "gateway/cli/usage_command.h"
#include "gateway/config_extensions.h"
#include "gateway/dev/dev_cluster_command.h"
#include "gateway/gateway.h"
#include "gateway/logging.h"
#include "gateway/reloader.h"

namespace {

constexpr const char* usage = R"(kafka-gateway: a Kafka protocol gateway that governs what each client sees.

Usage:
  kafka-gateway --config FILE [--watch] [--log-level LEVELS] [--log-format text|json]
                [--upstream HOST:PORT[,HOST:PORT...]]
      Run the gateway (without --config: the file KAFKA_GATEWAY_CONFIG names, as in the
      container image, whose HEALTHCHECK reads the same one). SIGINT/SIGTERM stop accepting, let in-flight requests finish
      (up to 5 s) and exit 0. SIGHUP reloads FILE and its policies; --watch reloads them
      whenever they change; SIGUSR1 reopens the audit file (for logrotate). A reload applies
      principals, credentials, policies and the log level to open connections from their
      next request; a file with errors, or one that changes listeners, upstream, limits,
      admin or audit (those need a restart), is rejected and the live configuration keeps
      serving. --upstream replaces the configured upstream with these
      brokers (and turns `embedded` off): a way to point an example at real brokers.
      --log-level sets levels as gateway.log_level does (it wins over the file's, on reloads
      too); --log-format json writes one JSON object per line (time, level, logger, message).
  kafka-gateway --version
      The version, the commit it was built from and the build type.
  kafka-gateway health [--config FILE] [--ready] | --url URL
      Check a running gateway from beside it (a container HEALTHCHECK): its admin listener's
      /healthz (/readyz with --ready), or its listeners without one. Exit 0 healthy, 1 not.
  kafka-gateway validate FILE
      Check a configuration file and its policies; print errors as file:line:col: message.
      Exit 0 if valid, 1 if not.
  kafka-gateway explain --config FILE --principal NAME --topic TOPIC
      Say in plain words what the policies mean for NAME on TOPIC: teams and attributes,
      allowed and denied operations and the rules behind them, group, transactional-id and
      cluster rules, the rows and fields NAME sees, produce validation. Offline.
  kafka-gateway preview --config FILE --principal NAME --topic TOPIC [--envelope]
      Read one record value per line on stdin (--envelope: {"key":..,"value":..,"headers":{..},
      "timestamp":..} per line) and print what NAME would receive for each, or "# dropped" and
      why. Exit 1 if NAME may not read TOPIC. Offline.
  kafka-gateway dev-cluster --brokers N --topic NAME:PARTITIONS [--topic ...]
      Start an embedded Kafka broker (librdkafka's mock cluster) on loopback, print its
      bootstrap list (host:port,host:port,...) as the first line on stdout, run until
      SIGINT/SIGTERM.
  kafka-gateway passwd [--mechanism SCRAM-SHA-512|SCRAM-SHA-256] [--iterations N]
                       [--password-file FILE | --password-env VAR]
      Read a password (stdin, or the file / variable) and print the stored SCRAM credential
      (salted keys, not the password) for a principal's `credentials:` list. It serves SASL
      SCRAM and PLAIN logins alike.
  kafka-gateway keys list|shred|rotate|new-kek --config FILE [...]
      Field-encryption keys through the key topic: list them, shred one subject's keys
      (--topic T --subject V), have every gateway rotate (--topic T), or make a KEK
      (--kek ID). See kafka-gateway keys --help.
  kafka-gateway usage --metrics URL [--over DURATION] | --audit FILE... [--from T] [--to T]
      Records and bytes each principal produced and fetched per topic (chargeback), from a
      gateway's /metrics or from audit trail files. See kafka-gateway usage --help.
  kafka-gateway --help
      This text.

Configuration (YAML):
  gateway:
    listen: 127.0.0.1:19092        # one PLAINTEXT listener (shorthand; or use `listeners`)
    advertised_host: 127.0.0.1     # host written into rewritten metadata
    broker_ports: 19093-19120      # one port per upstream broker id (first + id when it fits)
    workers: 0                     # 0 = one per core
    max_frame_size: 100MiB         # larger frames close the connection
    max_buffered_requests: 256MiB  # all connections' partly received requests together; past it,
                                   # reading pauses (Kafka's queued.max.request.bytes)
    idle_timeout: 10m              # connections idle this long are closed (0 = never); a request
                                   # still arriving is not activity, only whole frames are
    upstream_connect_timeout: 10s
    log_level: info                # trace, debug, info, warn, error, critical, off; per logger:
                                   # "info,auth=debug,relay=warn" (loggers: relay, auth, upstream,
                                   # config, audit, keys, admin)
  upstream:
    bootstrap: [127.0.0.1:9092]    # real brokers
    # or, instead of bootstrap, an embedded broker (a child process) for demos and tests:
    # embedded: { brokers: 3, topics: [ { name: customers, partitions: 6 } ] }
    security_protocol: PLAINTEXT   # or SSL, SASL_PLAINTEXT, SASL_SSL (the gateway's own login)
    tls: { ca: ca.pem, certificate: gw.pem, key: gw.key, verify_hostname: true, server_name: "" }
    sasl: { mechanism: SCRAM-SHA-512, username: gateway, password: { env: KGW_UPSTREAM_PASSWORD } }
  listeners:                       # several at once, each with its own ports
    - name: teams
      listen: 0.0.0.0:9093
      broker_ports: 9094-9120
      advertised_host: gateway.example.com
      security_protocol: SASL_SSL  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
      tls: { certificate: tls.pem, key: tls.key, ca: ca.pem, client_auth: none,  # requested, required
             min_version: TLSv1.2, ciphers: "", ciphersuites: "", curves: "" }
      sasl:
        mechanisms: [SCRAM-SHA-512, PLAIN, OAUTHBEARER]
        oauthbearer: { jwks: jwks.json, issuer: https://idp.example.com, audience: kafka, principal_claim: sub }
      principal_mapping_rules: ["RULE:^CN=([^,]+),.*$/$1/L", 'SAN:URI:^spiffe:\/\/example.org\/(.*)$/$1/', DEFAULT]
  principals:
    alice:
      teams: [sales]
      attributes: { territory: US-WEST }
      credentials: [ "SCRAM-SHA-512:iterations=4096:salt=...:stored_key=...:server_key=..." ]
  policies:                        # inline, or files/directories: policies: [policies.yaml, policies.d/]
    acls:                          # once any ACL exists, everything not allowed is denied
      - teams: [readers]           # or principals: [alice] (User:alice works too), or everyone: true
        allow: [Read, Describe]    # or deny: [...] (deny wins); Read, Write, Create, Delete, Alter,
                                   # Describe, DescribeConfigs, AlterConfigs, IdempotentWrite, All
        topics: [customers, { prefix: "mkt-" }, { glob: "cust*" }]   # "*" = every name
      - principals: [alice]
        allow: [Read]
        groups: [{ prefix: alice- }]   # also transactional_ids: [...], cluster: true
    pass_through_apis: [DescribeAcls]  # relayed without authorization (names or API keys)
    views:                         # what a principal reads; the rules naming the principal win,
      - teams: [readers]           # else those naming one of its teams, else those for everyone
        topics: [customers]
        where: region == principal.territory     # row filter
        mask:
          - { field: email, function: partial, keep_domain: true }   # redact, partial, hash, null, remove
          - { fields: [phone], function: remove }
        on_invalid_json: drop      # or { replace_with: TEXT }
    validation:                    # produce side: bad records get INVALID_RECORD
      - { everyone: true, topics: [customers], require_json: true, required_fields: [id, email] }
    hash_key: { env: KGW_HASH_KEY }  # HMAC key for `hash` masks, at least 16 bytes
  Secrets (certificates, keys, JWKS, credentials, passwords, hash_key) may be given as
  { file: PATH }, { env: VARIABLE } or { value: TEXT }; for certificates, keys and JWKS a plain
  string is a path.
)";

// Blocks SIGINT/SIGTERM (stop), SIGHUP (reload) and SIGUSR1 (reopen the audit file) in every
// thread (workers inherit the mask)
// and returns the set, so the main thread can sigwait for them.
void ignore_delivered(int) {}

sigset_t block_control_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A handler, though sigwait takes them (blocked, they stay pending until it does): as PID 1 (in
  // a container) the kernel drops a signal whose action is the default, so `docker stop` would
  // not drain but kill after its timeout.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) {
    struct sigaction sa {};
    sa.sa_handler = ignore_delivered;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
  // A server outlives its peers: a write to a socket or pipe whose reader went (a client's reset
  // under splice, a closed log pipe) returns EPIPE instead of ending the process.
  ::signal(SIGPIPE, SIG_IGN);
  return set;
}

// Every client connection is a descriptor (two once it reaches a broker), and the default soft
// limit (often 1024) would refuse clients long before memory runs short: the soft limit goes up
// to the hard one, which the operator sets (ulimit -Hn, LimitNOFILE=, --ulimit).
void raise_open_file_limit() {
  rlimit l{};
  if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return;
  if (l.rlim_cur < l.rlim_max) {
    const rlim_t was = l.rlim_cur;
    l.rlim_cur = l.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &l) != 0) l.rlim_cur = was;
  }
  kgw::log::relay().info("open file limit {} (a client connection takes one, two once it reaches a broker)",
                         l.rlim_cur);
}

// "host:port,host:port" (IPv6 hosts in brackets) for --upstream; nullopt if malformed.
std::optional<std::vector<kgw::config::host_port>> parse_brokers(std::string_view list) {
  std::vector<kgw::config::host_port> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const auto colon = item.rfind(':');
    unsigned port = 0;
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    auto [p, ec] = std::from_chars(item.data() + colon + 1, item.data() + item.size(), port);
    if (ec != std::errc{} || p != item.data() + item.size() || port == 0 || port > 65535) return std::nullopt;
    std::string_view host = item.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    out.push_back({std::string(host), static_cast<std::uint16_t>(port)});
  }
  if (out.empty()) return std::nullopt;
  return out;
}

int run_gateway(const std::string& path, const std::string& level_override, const std::string& upstream, bool watch) {
  auto cfg = kgw::config::load_file(path, kgw::gateway::config_extensions());
  if (!cfg) {
    std::cerr << cfg.error() << "\n";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      std::cerr << "(no configuration at " << path
                << ": give --config FILE, or in a container mount one there, e.g. -v $PWD/gateway.yaml:" << path
                << ":ro)\n";
    return 1;
  }
  std::function<void(kgw::config::gateway_config&)> adjust;
  if (!upstream.empty()) {
    auto brokers = parse_brokers(upstream);
    if (!brokers) {
      std::cerr << "--upstream must be HOST:PORT[,HOST:PORT...], got '" << upstream << "'\n";
      return 2;
    }
    adjust = [brokers = *brokers](kgw::config::gateway_config& c) {
      c.upstream_bootstrap = brokers;
      c.embedded.reset();
    };
  }
  if (!level_override.empty()) {
    // The command line wins over the file's log level, on reloads too.
    adjust = [adjust, level_override](kgw::config::gateway_config& c) {
      if (adjust) adjust(c);
      c.log_level = level_override;
    };
  }
  if (adjust) adjust(*cfg);
  const auto levels = kgw::config::parse_log_levels(cfg->log_level);
  if (!levels) {
    std::cerr << "--log-level: " << levels.error() << "\n";
    return 2;
  }
  kgw::log::apply(*levels);
  raise_open_file_limit();
  sigset_t signals = block_control_signals();
  auto policy_paths = cfg->policies.paths;
  kgw::gateway::gateway gw(std::move(*cfg));
  try {
    gw.start();
  } catch (const std::exception& e) {
    kgw::log::relay().critical("cannot start: {}", e.what());
    return 1;
  }
  kgw::gateway::reloader reloader(gw, path, std::move(policy_paths), adjust);
  if (watch) {
    try {
      reloader.watch();
    } catch (const std::exception& e) {
      kgw::log::relay().critical("{}", e.what());
      gw.stop();
      return 1;
    }
  }
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig == SIGUSR1) {
      kgw::log::relay().info("SIGUSR1 received: reopening the audit file");
      gw.reopen_audit();
      continue;
    }
    if (sig != SIGHUP) break;
    reloader.reload_now("SIGHUP");
  }
  kgw::log::relay().info("{} received: draining connections", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  gw.stop();
  kgw::log::relay().info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  kgw::log::set_up(kgw::log::format::text);
  const char* env_config = std::getenv("KAFKA_GATEWAY_CONFIG");
  if (argc < 2 && !(env_config && *env_config)) {
    std::cerr << usage;
    return 2;
  }
  const std::string cmd = argc < 2 ? "" : argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << usage;
    return 0;
  }
  if (cmd == "validate") {
    if (argc != 3) {
      std::cerr << "usage: kafka-gateway validate FILE\n";
      return 2;
    }
    auto cfg = kgw::config::load_file(argv[2], kgw::gateway::config_extensions());
    if (!cfg) {
      std::cerr << cfg.error() << "\n";
      return 1;
    }
    std::cout << argv[2] << ": ok\n";
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::cout << "kafka-gateway " << KGW_VERSION << " (commit " << KGW_COMMIT << ", " << KGW_BUILD_TYPE << ")\n";
    return 0;
  }
  if (cmd == "health") return kgw::gateway::run_health_command(argc - 1, argv + 1);
  if (cmd == "dev-cluster") return kgw::gateway::run_dev_cluster(argc - 1, argv + 1);
  if (cmd == "passwd") return kgw::gateway::run_passwd_command(argc - 1, argv + 1);
  if (cmd == "keys") return kgw::gateway::run_keys_command(argc - 1, argv + 1);
  if (cmd == "usage") return kgw::gateway::run_usage_command(argc - 1, argv + 1);
  if (cmd == "explain") return kgw::gateway::run_explain_command(argc - 1, argv + 1);
  if (cmd == "preview") return kgw::gateway::run_preview_command(argc - 1, argv + 1);

  std::string config_path, level, upstream;
  bool watch = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc)
      config_path = argv[++i];
    else if (a == "--watch")
      watch = true;
    else if (a == "--log-level" && i + 1 < argc)
      level = argv[++i];
    else if (a == "--upstream" && i + 1 < argc)
      upstream = argv[++i];
    else if (a == "--log-format" && i + 1 < argc) {
      kgw::log::format f;
      if (!kgw::log::parse_format(argv[++i], f)) {
        std::cerr << "--log-format must be text or json\n";
        return 2;
      }
      kgw::log::set_up(f);
    }
    else {
      std::cerr << "unknown argument '" << a << "'\n\n" << usage;
      return 2;
    }
  }
  if (config_path.empty() && env_config && *env_config) config_path = env_config;
  if (config_path.empty()) {
    std::cerr << "missing --config FILE (or KAFKA_GATEWAY_CONFIG)\n\n" << usage;
    return 2;
  }
  return run_gateway(config_path, level, upstream, watch);
}

#include "tests/e2e/e2e_environment.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "config/gateway_config.h"
#include "gateway/gateway.h"

namespace kgw::e2e {
namespace {

constexpr int port_low = 20000, port_high = 32000;  // below Linux's ephemeral range (32768+)
constexpr int block_stride = 32;

bool can_bind(std::uint16_t port, bool reuse_address = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  if (reuse_address) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  // Without SO_REUSEADDR a port still in TIME_WAIT from an earlier test counts as taken.
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

}  // namespace

std::uint16_t find_free_port_block(int count) {
  if (count < 1 || count > block_stride) throw std::invalid_argument("port block size must be 1..32");
  constexpr int blocks = (port_high - port_low) / block_stride;
  static std::atomic<int> next{static_cast<int>(::getpid() * 7919 % blocks)};
  for (int attempt = 0; attempt < blocks; ++attempt) {
    const int base = port_low + (next.fetch_add(1) % blocks) * block_stride;
    bool free = true;
    for (int i = 0; i < count && free; ++i) free = can_bind(static_cast<std::uint16_t>(base + i));
    if (free) return static_cast<std::uint16_t>(base);
  }
  throw std::runtime_error("no block of " + std::to_string(count) + " free ports on 127.0.0.1");
}

bool ports_free(std::uint16_t first, int count) {
  for (int i = 0; i < count; ++i)
    if (!can_bind(static_cast<std::uint16_t>(first + i), true)) return false;
  return true;
}

std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;
  throw std::runtime_error("no VmRSS in /proc/self/status");
}

e2e_environment::e2e_environment(const std::vector<gateway::embedded_topic>& topics, int brokers, bool with_audit,
                                 const std::function<void(config::gateway_config&)>& adjust)
    : cluster_(brokers, topics) {
  if (env_flag("KGW_E2E_DIRECT")) {
    client_bootstrap_ = cluster_.bootstrap();
    return;
  }
  const char* level = std::getenv("KGW_E2E_LOG");
  spdlog::set_level(spdlog::level::from_str(level && *level ? level : "warn"));

  // Port layout: listen, then the broker range. Broker id N maps to first + N, so the range is
  // sized for the brokers plus slack.
  const int range = brokers + 8;
  listen_port_ = find_free_port_block(range + 1);
  first_port_ = static_cast<std::uint16_t>(listen_port_ + 1);
  last_port_ = static_cast<std::uint16_t>(listen_port_ + range);

  config::gateway_config cfg;
  cfg.source = "e2e test";
  cfg.listen = {"127.0.0.1", listen_port_};
  cfg.advertised_host = advertised_host;
  cfg.broker_port_first = first_port_;
  cfg.broker_port_last = last_port_;
  cfg.workers = 2;
  cfg.upstream_connect_timeout = std::chrono::seconds(5);
  for (std::uint16_t port : cluster_.broker_ports()) cfg.upstream_bootstrap.push_back({"127.0.0.1", port});
  if (adjust) adjust(cfg);

  audit_ = std::make_unique<address_audit>(advertised_host, first_port_, last_port_, "127.0.0.1", cluster_.broker_ports());
  gateway_ = std::make_unique<gateway::gateway>(std::move(cfg));
  if (with_audit)
    gateway_->set_response_tap([audit = audit_.get()](std::int16_t key, std::int16_t version,
                                                       std::span<const std::byte> body) {
      audit->inspect(key, version, body);
    });
  else
    audit_.reset();
  gateway_->start();
  client_bootstrap_ = std::string(advertised_host) + ":" + std::to_string(gateway_->bootstrap_port());
}

e2e_environment::~e2e_environment() {
  if (gateway_) gateway_->stop();
  gateway_.reset();
}

address_audit::summary e2e_environment::audit() const { return audit_ ? audit_->snapshot() : address_audit::summary{}; }

void e2e_environment::require_no_upstream_addresses(bool expect_metadata) const {
  if (!through_gateway()) {
    WARN("direct mode (KGW_E2E_DIRECT): no gateway, address hygiene not checked");
    return;
  }
  const auto s = audit();
  std::string seen;
  for (const auto& [key, n] : s.responses) seen += " " + std::to_string(key) + ":" + std::to_string(n);
  INFO("responses seen (api key:count):" << seen << "; addresses checked: " << s.addresses_checked);
  for (const auto& v : s.violations) FAIL_CHECK("upstream address leaked: " << v);
  CHECK(s.violations.empty());
  if (expect_metadata) {
    CHECK(s.responses.count(3) == 1);
    CHECK(s.addresses_checked > 0);
  }
}

}  // namespace kgw::e2e

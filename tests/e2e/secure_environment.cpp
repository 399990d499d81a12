#include "tests/e2e/secure_environment.h"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gateway/gateway.h"
#include "gateway/security/scram.h"
#include "tests/e2e/e2e_environment.h"

namespace kgw::e2e {
std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string stored_credential(const std::string& mechanism, const std::string& password) {
  auto m = security::scram_mechanism_from_name(mechanism);
  if (!m) throw std::invalid_argument("not a SCRAM mechanism: " + mechanism);
  return security::to_stored_form(security::make_scram_credential(*m, password));
}

secure_environment::secure_environment(const std::vector<gateway::embedded_topic>& topics,
                                       const std::function<void(config::gateway_config&)>& customize)
    : pki_("kgw-e2e-pki"), issuer_(testing::jwt_test_signer::algorithm::rs256, "idp-key-1") {
  const char* level = std::getenv("KGW_E2E_LOG");
  spdlog::set_level(spdlog::level::from_str(level && *level ? level : "warn"));
  cluster_ = std::make_unique<gateway::embedded_cluster>(3, topics);

  // Four listeners, 8 ports each: the bootstrap port, then brokers 1..3 at first + id.
  const std::uint16_t base = find_free_port_block(32);
  const auto server = pki_.issue_server("gateway");
  config::tls_server_settings tls;
  tls.certificate_pem = read_text(server.cert);
  tls.key_pem = read_text(server.key);
  config::sasl_server_settings sasl;
  sasl.mechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"};
  config::oauthbearer_settings ob;
  ob.jwks_json = issuer_.jwks_json();
  ob.issuer = oauth_issuer;
  ob.audiences = {oauth_audience};
  sasl.oauthbearer = ob;

  config::gateway_config cfg;
  cfg.source = "secure e2e test";
  cfg.workers = 2;
  cfg.upstream_connect_timeout = std::chrono::seconds(5);
  auto add = [&](const std::string& name, config::security_protocol p) -> config::listener_config& {
    auto& l = cfg.listeners.emplace_back();
    const auto first = static_cast<std::uint16_t>(base + 8 * (cfg.listeners.size() - 1));
    l.name = name;
    l.listen = {"127.0.0.1", first};
    l.advertised_host = "127.0.0.1";
    l.broker_port_first = static_cast<std::uint16_t>(first + 1);
    l.broker_port_last = static_cast<std::uint16_t>(first + 7);
    l.protocol = p;
    if (config::uses_tls(p)) l.tls = tls;
    if (config::uses_sasl(p)) l.sasl = sasl;
    ports_[name] = first;
    return l;
  };
  add("plain", config::security_protocol::plaintext);
  add("sasl", config::security_protocol::sasl_plaintext);
  add("sasl_ssl", config::security_protocol::sasl_ssl);
  auto& mtls = add("mtls", config::security_protocol::ssl);
  mtls.tls->ca_pem = read_text(pki_.ca_cert());
  mtls.tls->client_auth = config::client_auth_mode::required;
  mtls.principal_mapping_rules = {"RULE:^CN=([^,]+),OU=teams,.*$/$1/L",
                                  R"(SAN:URI:^spiffe:\/\/example\.org\/svc\/([a-z-]+)$/svc-$1/)"};

  auto& alice = cfg.principals["alice"];
  alice.name = "alice";
  alice.teams = {"sales"};
  alice.attributes = {{"territory", "US-WEST"}};
  alice.credentials = {stored_credential("SCRAM-SHA-512", "alice-secret"),
                       stored_credential("SCRAM-SHA-256", "alice-secret")};
  auto& bob = cfg.principals["bob"];
  bob.name = "bob";
  bob.credentials = {stored_credential("SCRAM-SHA-512", "bob-secret")};

  for (std::uint16_t port : cluster_->broker_ports()) cfg.upstream_bootstrap.push_back({"127.0.0.1", port});
  if (customize) customize(cfg);

  audit_ = std::make_unique<address_audit>("127.0.0.1", base, static_cast<std::uint16_t>(base + 31), "127.0.0.1",
                                           cluster_->broker_ports());
  gateway_ = std::make_unique<gateway::gateway>(std::move(cfg));
  gateway_->set_response_tap([a = audit_.get()](std::int16_t key, std::int16_t version, std::span<const std::byte> body) {
    a->inspect(key, version, body);
  });
  gateway_->set_auth_tap([this](std::string_view listener, std::string_view principal, std::string_view mechanism) {
    std::lock_guard lk(mu_);
    events_.push_back({std::string(listener), std::string(principal), std::string(mechanism)});
  });
  gateway_->start();
}

secure_environment::~secure_environment() {
  if (gateway_) gateway_->stop();
  gateway_.reset();
}

std::string secure_environment::bootstrap(const std::string& listener) const {
  return "127.0.0.1:" + std::to_string(port(listener));
}

std::vector<auth_event> secure_environment::auth_events() const {
  std::lock_guard lk(mu_);
  return events_;
}

void secure_environment::clear_auth_events() {
  std::lock_guard lk(mu_);
  events_.clear();
}

void secure_environment::require_no_upstream_addresses() const {
  const auto s = audit_->snapshot();
  for (const auto& v : s.violations) FAIL_CHECK("upstream address leaked: " << v);
  CHECK(s.violations.empty());
  CHECK(s.addresses_checked > 0);
}

}  // namespace kgw::e2e

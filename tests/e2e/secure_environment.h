#pragma once
// End-to-end setup for the identity tests: an embedded broker and, in front of it, a gateway
// with one listener per security protocol, a throw-away PKI and a JWT issuer, all made at test
// time. Listeners (name: protocol):
//   plain:    PLAINTEXT
//   sasl:     SASL_PLAINTEXT  (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)
//   sasl_ssl: SASL_SSL        (same mechanisms; server certificate from the test CA)
//   mtls:     SSL, client certificate required; principal from the certificate:
//             "RULE:^CN=([^,]+),OU=teams,.*$/$1/L", then "SAN:URI:^spiffe:\/\/example\.org\/svc\/([a-z-]+)$/svc-$1/"
// Principals: alice (team sales, territory US-WEST; password alice-secret as SCRAM-SHA-256 and
// -512 credentials), bob (bob-secret, SCRAM-SHA-512 only). OAUTHBEARER tokens must be signed by
// issuer() with iss "https://idp.test" and aud "kafka"; the principal is "sub".
// Every identity the gateway establishes is recorded (auth_events), and every response is
// audited for upstream addresses, as in e2e_environment.
// Threading: construct, use and destroy on the test thread; auth events are recorded from the
// gateway's threads under a mutex.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/dev/embedded_cluster.h"
#include "tests/e2e/address_audit.h"
#include "tests/support/jwt_test_signer.h"
#include "tests/support/test_pki.h"

namespace kgw::gateway {
class gateway;
}

namespace kgw::e2e {

struct auth_event {
  std::string listener, principal, mechanism;
  auto operator<=>(const auth_event&) const = default;
};

class secure_environment {
 public:
  // customize: applied to the gateway's configuration last (extra principals, say).
  explicit secure_environment(const std::vector<gateway::embedded_topic>& topics,
                              const std::function<void(config::gateway_config&)>& customize = {});
  ~secure_environment();
  secure_environment(const secure_environment&) = delete;
  secure_environment& operator=(const secure_environment&) = delete;

  std::string bootstrap(const std::string& listener) const;  // "127.0.0.1:<port>"
  std::uint16_t port(const std::string& listener) const { return ports_.at(listener); }
  const testing::test_pki& pki() const { return pki_; }
  testing::test_pki& pki() { return pki_; }
  const testing::jwt_test_signer& issuer() const { return issuer_; }
  gateway::embedded_cluster* cluster() { return cluster_.get(); }

  std::vector<auth_event> auth_events() const;
  void clear_auth_events();
  // Catch2 checks: no upstream address reached a client.
  void require_no_upstream_addresses() const;

  static constexpr const char* oauth_issuer = "https://idp.test";
  static constexpr const char* oauth_audience = "kafka";

 private:
  testing::test_pki pki_;
  testing::jwt_test_signer issuer_;
  std::unique_ptr<gateway::embedded_cluster> cluster_;
  std::map<std::string, std::uint16_t> ports_;
  std::unique_ptr<address_audit> audit_;
  std::unique_ptr<gateway::gateway> gateway_;
  mutable std::mutex mu_;
  std::vector<auth_event> events_;
};

// A whole file's contents (PEM files for TLS settings).
std::string read_text(const std::filesystem::path& p);

// A stored SCRAM credential for `password` (what `kafka-gateway passwd` prints).
std::string stored_credential(const std::string& mechanism, const std::string& password);

}  // namespace kgw::e2e

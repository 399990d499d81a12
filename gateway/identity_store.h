#pragma once
// The principals of the configuration, with their SCRAM credentials parsed once, and the
// principal a connection authenticated as.
// Threading: built at start-up, then shared read-only by all workers.
#include <map>
#include <string>
#include <string_view>

#include "config/gateway_config.h"
#include "gateway/security/scram.h"

namespace kgw::gateway {

// Who a connection is, as the gateway established it. Kafka writes principals as "User:name".
struct authenticated_principal {
  std::string name = "ANONYMOUS";
  std::string mechanism = "PLAINTEXT";  // PLAIN, SCRAM-SHA-256/512, OAUTHBEARER, SSL (certificate), PLAINTEXT
  const config::principal_config* known = nullptr;  // teams and attributes, when the config defines them
  std::string kafka_name() const { return "User:" + name; }
};

class identity_store {
 public:
  identity_store() = default;
  // Throws std::runtime_error on a credential that does not parse (the loader checked them).
  explicit identity_store(const std::map<std::string, config::principal_config>& principals);

  const config::principal_config* find(std::string_view name) const;
  const security::scram_credential* scram(std::string_view name, security::scram_mechanism m) const;
  // SASL/PLAIN: the password must match one of the principal's stored credentials.
  bool verify_plain(std::string_view name, std::string_view password) const;

 private:
  struct entry {
    const config::principal_config* config;
    std::vector<security::scram_credential> credentials;
  };
  std::map<std::string, entry, std::less<>> entries_;
};

}  // namespace kgw::gateway

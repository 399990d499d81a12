#pragma once
// What one listener needs at run time: its configuration, TLS context, certificate principal
// mapping, SASL settings and its own broker registry (every listener has its own per-broker
// ports). Built at start-up.
// Threading: read-only after start-up and shared by all workers; the registry inside is
// thread-safe.
#include <memory>
#include <optional>

#include "config/gateway_config.h"
#include "gateway/broker_registry.h"
#include "gateway/connection_slots.h"
#include "gateway/sasl_authenticator.h"
#include "gateway/security/principal_mapping.h"

namespace boost::asio::ssl {
class context;
}
namespace kgw::security {
class jwt_validator;
}

namespace kgw::gateway {

struct listener_runtime {
  std::size_t index = 0;
  config::listener_config cfg;
  std::shared_ptr<boost::asio::ssl::context> tls;       // null: plaintext
  std::optional<security::principal_mapping> mapping;  // TLS listeners
  std::shared_ptr<security::jwt_validator> jwt;         // OAUTHBEARER
  std::optional<sasl_context> sasl;                     // SASL listeners
  std::unique_ptr<broker_registry> registry;
  std::unique_ptr<connection_slots> slots;  // open connections against cfg.max_connections
};

}  // namespace kgw::gateway

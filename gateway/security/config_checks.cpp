#include "gateway/security/config_checks.h"

#include "gateway/security/jwt.h"
#include "gateway/security/principal_mapping.h"
#include "gateway/security/scram.h"

namespace kgw::security {

config::value_checks config_checks() {
  config::value_checks c;
  c.credential = [](std::string_view stored) -> std::optional<std::string> {
    if (auto parsed = parse_stored_form(stored); !parsed) return parsed.error();
    return std::nullopt;
  };
  c.jwks = [](std::string_view json) -> std::optional<std::string> {
    if (auto keys = jwks::parse(json); !keys) return keys.error();
    return std::nullopt;
  };
  c.principal_mapping = [](const std::vector<std::string>& rules) -> std::optional<std::string> {
    if (auto m = principal_mapping::parse(rules); !m) return m.error();
    return std::nullopt;
  };
  return c;
}

}  // namespace kgw::security

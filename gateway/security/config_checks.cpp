#include "gateway/security/config_checks.h"

#include "gateway/security/jwt.h"
#include "gateway/security/principal_mapping.h"
#include "gateway/security/scram.h"

namespace kgw::security {
namespace {

// Only whether it parses, and why not.
template <class T>
std::expected<void, std::string> parses(const std::expected<T, std::string>& parsed) {
  if (!parsed) return std::unexpected(parsed.error());
  return {};
}

}  // namespace

config::extensions config_checks() {
  config::extensions c;
  c.credential = [](std::string_view stored) { return parses(parse_stored_form(stored)); };
  c.jwks = [](std::string_view json) { return parses(jwks::parse(json)); };
  c.principal_mapping = [](const std::vector<std::string>& rules) { return parses(principal_mapping::parse(rules)); };
  return c;
}

}  // namespace kgw::security

#pragma once
// Loads and validates the gateway YAML. Every error is "file:line:col: message".
// Threading: pure functions.
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"

namespace kgw::config {

// Checks of values whose formats belong to the identity code above this layer: a stored
// credential from `kafka-gateway passwd`, a JWKS document, principal-mapping rules. Each returns
// an error message (reported at the value's file:line:col) or nullopt. The gateway passes its
// parsers (gateway/security/config_checks.h), so configuration errors surface at load. A check
// left empty accepts the text; the gateway still refuses it where it uses it (building a
// configuration generation or a listener), without a line number.
struct value_checks {
  std::function<std::optional<std::string>(std::string_view stored)> credential;
  std::function<std::optional<std::string>(std::string_view json)> jwks;
  std::function<std::optional<std::string>(const std::vector<std::string>& rules)> principal_mapping;
};

std::expected<gateway_config, std::string> load_file(const std::string& path, const value_checks& checks = {});
std::expected<gateway_config, std::string> load_string(std::string_view yaml, const std::string& source_name,
                                                       const value_checks& checks = {});

}  // namespace kgw::config

#pragma once
// Loads and validates the gateway YAML. Every error is "file:line:col: message".
// Threading: pure functions.
#include <expected>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"

namespace kgw::config {

// What the code above this layer lends the loader, so that every configuration error surfaces
// at load with its file:line:col. The gateway passes all of it (gateway/config_extensions.h).
//
// Checks of values whose formats belong to the identity code (gateway/security/config_checks.h):
// a stored credential from `kafka-gateway passwd`, a JWKS document, principal-mapping rules; each
// returns why the value is wrong. A check left empty accepts the text; the gateway still refuses
// it where it uses it (building a configuration generation or a listener), without a line number.
//
// policy_sections: the policies' readers of their policy-document keys (policies/registry.h);
// without them a policy document may hold no key at all.
struct extensions {
  std::function<std::expected<void, std::string>(std::string_view stored)> credential;
  std::function<std::expected<void, std::string>(std::string_view json)> jwks;
  std::function<std::expected<void, std::string>(const std::vector<std::string>& rules)> principal_mapping;
  std::span<const section_reader> policy_sections;
};

std::expected<gateway_config, std::string> load_file(const std::string& path, const extensions& with = {});
std::expected<gateway_config, std::string> load_string(std::string_view yaml, const std::string& source_name,
                                                       const extensions& with = {});

}  // namespace kgw::config

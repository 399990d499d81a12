#pragma once
// Loads and validates the gateway YAML. Every error is "file:line:col: message".
// Threading: pure functions.
#include <expected>
#include <string>
#include <string_view>

#include "config/gateway_config.h"

namespace kgw::config {

std::expected<gateway_config, std::string> load_file(const std::string& path);
std::expected<gateway_config, std::string> load_string(std::string_view yaml, const std::string& source_name);

}  // namespace kgw::config

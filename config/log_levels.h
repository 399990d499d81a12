#pragma once
// Log levels per logger, as `gateway.log_level` and `--log-level` give them: a level for every
// logger, then `name=level` for one ("info,auth=debug,relay=warn"). The loggers are the
// gateway's areas (gateway/logging.h logs through them):
//   relay     connections, sessions, listeners, the policy chain
//   auth      TLS, SASL and authentication failures
//   upstream  broker connections, metadata, the embedded broker
//   config    loading and reloading the configuration
//   audit     the audit trail's sinks
//   keys      field-encryption keys and the KMS
//   admin     the admin listener (metrics, health)
// Threading: pure functions and constants.
#include <array>
#include <expected>
#include <map>
#include <string>
#include <string_view>

namespace kgw::config {

inline constexpr std::array<std::string_view, 7> logger_names{"relay", "auth",  "upstream", "config",
                                                               "audit", "keys", "admin"};
inline constexpr std::array<std::string_view, 7> level_names{"trace", "debug", "info", "warn",
                                                              "error", "critical", "off"};

struct log_levels {
  std::string all = "info";                     // every logger not named below
  std::map<std::string, std::string> loggers;  // logger name -> level
  bool operator==(const log_levels&) const = default;
};

// The levels `spec` sets, or what is wrong with it (a message naming the accepted words).
std::expected<log_levels, std::string> parse_log_levels(std::string_view spec);

}  // namespace kgw::config

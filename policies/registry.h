#pragma once
// The registry: one line per policy (registry.cpp), in chain order. A new policy is one folder
// under policies/ (its code and its compile function) plus one line there. policy_set compiles a
// principal's chain from these lines once per configuration generation.
// Threading: a constant table.
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace kgw::config {
struct policy_config;
}

namespace kgw::policies {

class policy;
class policy_set;

struct policy_kind {
  const char* name;  // the configuration section it reads
  // The principal's policy of this kind in this generation; null when nothing applies.
  std::shared_ptr<const policy> (*compile)(policy_set& snapshot, std::string_view principal);
  // ApiVersions: whether clients are offered this API key (null: every key).
  bool (*lists_api)(const config::policy_config& policies, std::int16_t api_key) = nullptr;
};

// Chain order: ACLs first (a denied entry is never validated nor viewed), then validation
// (produce), then views (fetch).
std::span<const policy_kind> registry();

}  // namespace kgw::policies

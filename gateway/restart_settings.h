#pragma once
// Which settings a running gateway cannot change: everything but the principals, the policies
// and the log level (gateway::reload applies those live). Listeners and ports are bound, the
// upstream is connected, limits and timeouts are sized at start-up.
// Threading: pure function.
#include <string>
#include <vector>

#include "config/gateway_config.h"

namespace kgw::gateway {

// The restart-only settings that differ, by their YAML names ("listeners", "upstream", ...);
// empty when `next` can be applied live.
std::vector<std::string> restart_only_changes(const config::gateway_config& running, const config::gateway_config& next);

}  // namespace kgw::gateway

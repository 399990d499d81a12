#pragma once
// Everything the configuration loader needs from above config/: the identity checks
// (gateway/security/config_checks.h) and every policy's section reader (policies/registry.h).
// Every loader of the gateway's configuration passes this, so each error surfaces at load
// with its file:line:col.
// Threading: pure function.
#include "config/loader.h"

namespace kgw::gateway {

config::extensions config_extensions();

}  // namespace kgw::gateway

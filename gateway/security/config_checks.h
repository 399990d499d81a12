#pragma once
// The identity parsers as configuration checks (config/loader.h extensions): a stored SCRAM or
// PLAIN credential, a JWKS document, principal-mapping rules. Every loader of the gateway's
// configuration passes these (gateway/config_extensions.h), so such a value that does not
// parse is a file:line:col error.
// Threading: pure functions.
#include "config/loader.h"

namespace kgw::security {

config::extensions config_checks();

}  // namespace kgw::security

#include "gateway/config_extensions.h"

#include "gateway/security/config_checks.h"
#include "policies/registry.h"

namespace kgw::gateway {

config::extensions config_extensions() {
  config::extensions x = security::config_checks();
  x.policy_sections = policies::section_readers();
  return x;
}

}  // namespace kgw::gateway

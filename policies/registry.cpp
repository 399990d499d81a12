#include "policies/registry.h"

#include <array>

#include "policies/acl/acl_policy.h"
#include "policies/validation/validation_policy.h"
#include "policies/view/view_policy.h"

namespace kgw::policies {

std::span<const policy_kind> registry() {
  static constexpr std::array kinds{
      policy_kind{"acls", compile_acl_policy, acl_lists_api},
      policy_kind{"validation", compile_validation_policy},
      policy_kind{"views", compile_view_policy},
  };
  return kinds;
}

}  // namespace kgw::policies

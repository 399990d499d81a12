#include "policies/registry.h"

#include <array>

#include "config/policy_config.h"
#include "policies/acl/acl_config.h"
#include "policies/acl/acl_policy.h"
#include "policies/encryption/encryption_config.h"
#include "policies/encryption/encryption_policy.h"
#include "policies/quota/quota_config.h"
#include "policies/validation/validation_config.h"
#include "policies/validation/validation_policy.h"
#include "policies/view/view_config.h"
#include "policies/view/view_policy.h"

namespace kgw::policies {

std::span<const policy_kind> registry() {
  static const std::array kinds{
      policy_kind{acl_section_reader, compile_acl_policy, acl_lists_api},
      policy_kind{view_section_reader, compile_view_policy},
      policy_kind{validation_section_reader, compile_validation_policy},
      // After validation (which checks the plaintext); its fetch stage goes before the views'.
      policy_kind{encryption_section_reader, compile_encryption_policy},
      // Applied by the relay per frame (policies/quota/quota_book.h), not on decoded messages.
      policy_kind{quota_section_reader, compile_quota_policy},
  };
  return kinds;
}

std::span<const config::section_reader> section_readers() {
  static const auto readers = [] {
    std::vector<config::section_reader> out;
    for (const auto& kind : registry()) out.push_back(kind.reader);
    return out;
  }();
  return readers;
}

}  // namespace kgw::policies

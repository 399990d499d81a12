#include "policies/encryption/kms.h"

#include <cstdint>

namespace kgw::policies::encryption {

std::string dek_wrap_context(std::string_view kek_id, std::string_view dek_id) {
  std::string aad = "kgw1 dek";
  for (std::string_view part : {kek_id, dek_id}) {
    const auto n = static_cast<std::uint32_t>(part.size());
    for (int shift = 24; shift >= 0; shift -= 8) aad.push_back(static_cast<char>((n >> shift) & 0xff));
    aad.append(part);
  }
  return aad;
}

}  // namespace kgw::policies::encryption

#include "policies/encryption/kms.h"

#include <cstdint>

#include "policies/encryption/encryption_config.h"
#include "policies/encryption/local_kms.h"
#include "policies/encryption/pkcs11_kms.h"

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

std::expected<std::shared_ptr<const kms>, std::string> open_kms(const kms_settings& s) {
  if (s.what == kms_settings::kind::local) {
    auto k = local_kms::load(s.key_file);
    if (!k) return std::unexpected("local KMS: " + k.error());
    return std::shared_ptr<const kms>(std::move(*k));
  }
  auto k = pkcs11_kms::open({s.module, s.token, s.pin});
  if (!k) return std::unexpected("pkcs11 KMS: " + k.error());
  return std::shared_ptr<const kms>(std::move(*k));
}

}  // namespace kgw::policies::encryption

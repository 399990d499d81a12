#include "policies/encryption/kms.h"


#include "policies/encryption/encryption_config.h"
#include "policies/encryption/field_cipher.h"
#include "policies/encryption/local_kms.h"
#include "policies/encryption/pkcs11_kms.h"

namespace kgw::policies::encryption {

std::string dek_wrap_context(std::string_view kek_id, std::string_view dek_id) {
  std::string aad = "kgw1 dek";
  append_part(aad, kek_id);
  append_part(aad, dek_id);
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

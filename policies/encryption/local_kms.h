#pragma once
// The `local` KMS: KEKs in a key file, for the demo and development. One KEK per line,
// "<id> <base64 of 32 random bytes>" (`kafka-gateway keys new-kek` will print one; until then
// `printf 'kek-1 %s\n' "$(head -c32 /dev/urandom | base64)"`); '#' starts a comment. The file
// must not be readable or writable by group or others (as ssh insists for private keys): the
// KEKs are the keys to every encrypted field. DEKs are wrapped with AES-256-GCM, the associated
// data binding the KEK id and the DEK id.
// Threading: immutable after load; wrap/unwrap are thread-safe.
#include <map>
#include <memory>

#include "policies/encryption/kms.h"

namespace kgw::policies::encryption {

class local_kms final : public kms {
 public:
  // The KMS of the key file at `path`, or why not ("path:line: ..."; never a key's bytes).
  static std::expected<std::unique_ptr<local_kms>, std::string> load(const std::string& path);

  const char* kind() const override { return "local"; }
  std::vector<std::string> key_ids() const override;
  std::expected<std::string, std::string> wrap(std::string_view kek_id, std::string_view dek_id,
                                               const key_material& dek) const override;
  std::expected<key_material, std::string> unwrap(std::string_view kek_id, std::string_view dek_id,
                                                  std::string_view wrapped) const override;
  std::expected<void, std::string> health() const override { return {}; }  // in memory: always
  ~local_kms() override;

 private:
  std::map<std::string, key_material, std::less<>> keks_;
};

}  // namespace kgw::policies::encryption

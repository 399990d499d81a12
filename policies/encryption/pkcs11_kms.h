#pragma once
// The `pkcs11` KMS: KEKs are AES-256 secret keys inside a PKCS#11 token (an HSM, a cloud HSM;
// SoftHSM2 in the tests), found by their label (the KEK id). They never leave it: wrap and
// unwrap are C_Encrypt / C_Decrypt with CKM_AES_GCM inside the token, a fresh 96-bit nonce per
// wrap and the associated data binding the KEK id and the DEK id (as the local KMS does).
// Wrapped form: nonce | ciphertext | tag.
//
// The module is loaded with dlopen and initialised once per process (CKF_OS_LOCKING_OK: the
// module locks itself). One logged-in session serves every call; an error that means the session
// or token went away (session closed, token removed, device error) drops it and the call is
// retried on a fresh session, then after re-initialising the module (what many HSM client
// libraries need after losing their device), so a token that comes back is used again without a
// restart. Until then calls fail: the key manager fails closed.
// Threading: thread-safe (one mutex around the session); calls block on the token, so only the
// key manager calls them, never a relay thread.
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "policies/encryption/kms.h"

namespace kgw::policies::encryption {

struct pkcs11_settings {
  std::string module;       // path of the PKCS#11 library (/usr/lib/softhsm/libsofthsm2.so)
  std::string token_label;  // the token holding the KEKs
  std::string pin;          // the user PIN (secret: never logged)
};

class pkcs11_kms final : public kms {
 public:
  // Loads the module and logs in to the token, or why not (module missing, no token with that
  // label, wrong PIN).
  static std::expected<std::unique_ptr<pkcs11_kms>, std::string> open(const pkcs11_settings& settings);
  ~pkcs11_kms() override;

  const char* kind() const override { return "pkcs11"; }
  std::vector<std::string> key_ids() const override;
  std::expected<std::string, std::string> wrap(std::string_view kek_id, std::string_view dek_id,
                                               const key_material& dek) const override;
  std::expected<key_material, std::string> unwrap(std::string_view kek_id, std::string_view dek_id,
                                                  std::string_view wrapped) const override;
  std::expected<void, std::string> health() const override;

  // Creates KEK `id` in the token: AES-256, generated there, sensitive and never extractable.
  // Refuses an id the token already holds.
  std::expected<void, std::string> generate_kek(std::string_view id) const;

  struct module;   // the loaded library (process-wide)
  struct session;  // a logged-in session and the KEK handles found through it
  struct failure;

 private:
  explicit pkcs11_kms(pkcs11_settings settings, module* m);
  // The session, opened and logged in if there is none (mu_ and the module held).
  std::expected<session*, failure> live() const;
  template <class T>
  std::expected<T, std::string> call(
      const std::function<std::expected<T, failure>(module&, session&)>& op) const;
  // AES-GCM with KEK `kek_id` in the token (see gcm_call in the .cpp).
  std::expected<std::string, std::string> gcm(std::string_view kek_id, bool encrypt, std::string_view nonce,
                                              std::string_view aad, std::string_view in) const;

  pkcs11_settings settings_;
  module* module_;
  mutable std::mutex mu_;
  mutable std::unique_ptr<session> session_;
};

}  // namespace kgw::policies::encryption

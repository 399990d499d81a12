#pragma once
// A key-encryption service: it holds key-encryption keys (KEKs) and wraps and unwraps the data
// keys (DEKs) that seal fields, so only wrapped DEKs are ever stored (in the key topic). One
// small interface per backend:
//   local    KEKs in a key file (demo, development): policies/encryption/local_kms.h
//   pkcs11   any PKCS#11 module (HSMs, cloud HSMs; SoftHSM2 in tests); KEKs never leave it
// A remote KMS (Vault transit, AWS KMS) is one more class: an HTTPS client on its own thread
// pool, its credentials and endpoint from the configuration, wrap/unwrap as its encrypt/decrypt
// calls with the DEK id as context, and health from a cheap authenticated call.
//
// Every wrap binds the DEK to its id (associated data or the backend's equivalent), so a wrapped
// key copied under another id in the key topic does not unwrap.
// Threading: implementations are thread-safe; calls may block (an HSM, a network), so the relay
// threads never call them: the key manager does, off the hot path.
#include <array>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::policies {
struct kms_settings;
}

namespace kgw::policies::encryption {

using key_material = std::array<unsigned char, 32>;

class kms {
 public:
  virtual ~kms() = default;
  virtual const char* kind() const = 0;  // "local", "pkcs11"
  virtual std::vector<std::string> key_ids() const = 0;  // the KEKs it holds
  // The DEK wrapped under KEK `kek_id`: opaque bytes only this KMS unwraps.
  virtual std::expected<std::string, std::string> wrap(std::string_view kek_id, std::string_view dek_id,
                                                       const key_material& dek) const = 0;
  virtual std::expected<key_material, std::string> unwrap(std::string_view kek_id, std::string_view dek_id,
                                                          std::string_view wrapped) const = 0;
  // Whether it can wrap and unwrap now (a token removed, a session lost: why).
  virtual std::expected<void, std::string> health() const = 0;
};

// The KMS an encryption section names (local key file, or a PKCS#11 module logged in to its
// token), or why it cannot be opened.
std::expected<std::shared_ptr<const kms>, std::string> open_kms(const kms_settings& settings);

// The associated data every backend binds a wrapped DEK with: "kgw1 dek", then the KEK id and
// the DEK id, each as a 4-byte big-endian length and its bytes.
std::string dek_wrap_context(std::string_view kek_id, std::string_view dek_id);

}  // namespace kgw::policies::encryption

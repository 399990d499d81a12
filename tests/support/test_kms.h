#pragma once
// A KMS for tests: wraps data keys under one fixed KEK ("kek-1") with the same AEAD and binding
// as the real ones, and can be switched off (`up`) to play a KMS out of reach.
// Threading: thread-safe (the switch is atomic).
#include <algorithm>
#include <atomic>

#include "policies/encryption/field_cipher.h"
#include "policies/encryption/kms.h"

namespace kgw::testing {

namespace enc = policies::encryption;

class test_kms final : public enc::kms {
 public:
  std::atomic<bool> up{true};
  const char* kind() const override { return "test"; }
  std::vector<std::string> key_ids() const override { return {"kek-1"}; }
  std::expected<std::string, std::string> wrap(std::string_view kek, std::string_view dek,
                                               const enc::key_material& m) const override {
    if (!up) return std::unexpected(std::string("KMS down"));
    if (kek != "kek-1") return std::unexpected("no KEK " + std::string(kek));
    return enc::aead_seal(kek_, enc::dek_wrap_context(kek, dek), {reinterpret_cast<const char*>(m.data()), m.size()});
  }
  std::expected<enc::key_material, std::string> unwrap(std::string_view kek, std::string_view dek,
                                                       std::string_view wrapped) const override {
    if (!up) return std::unexpected(std::string("KMS down"));
    auto plain = enc::aead_open(kek_, enc::dek_wrap_context(kek, dek), wrapped);
    if (!plain || plain->size() != 32) return std::unexpected(std::string("does not unwrap"));
    enc::key_material k;
    std::copy(plain->begin(), plain->end(), reinterpret_cast<char*>(k.data()));
    return k;
  }
  std::expected<void, std::string> health() const override {
    if (!up) return std::unexpected(std::string("KMS down"));
    return {};
  }

 private:
  enc::key_material kek_{1, 2, 3};
};

}  // namespace kgw::testing

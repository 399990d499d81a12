#pragma once
// A SoftHSM2 token for tests, initialised at run time: a fresh directory with its own
// softhsm2.conf (file object store) and a token made with `softhsm2-util --init-token`. The
// process's SOFTHSM2_CONF is pointed at it, so the module (loaded once per process) and child
// processes (a gateway under test) find the token. Removed in the destructor.
// Test-only: failures throw std::runtime_error so a missing SoftHSM fails the test that needs it
// (docker/setup.sh installs Debian's softhsm2); it is never skipped silently.
// Threading: create and destroy from one thread, before any PKCS#11 use.
#include <filesystem>
#include <string>

namespace kgw::testing {

class softhsm_token {
 public:
  explicit softhsm_token(std::string label = "kgw-test", std::string pin = "1234");
  ~softhsm_token();
  softhsm_token(const softhsm_token&) = delete;
  softhsm_token& operator=(const softhsm_token&) = delete;

  static const char* module();  // Debian's libsofthsm2.so
  const std::string& label() const { return label_; }
  const std::string& pin() const { return pin_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& tokens() const { return tokens_; }  // the object store
  const std::filesystem::path& conf() const { return conf_; }      // the SOFTHSM2_CONF file

 private:
  std::string label_, pin_;
  std::filesystem::path dir_, tokens_, conf_;
};

}  // namespace kgw::testing

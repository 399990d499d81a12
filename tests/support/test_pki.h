#pragma once
// A throw-away PKI for tests: a self-signed CA and the server and client certificates issued
// by it, written as PEM files into a fresh directory (removed in the destructor) so unit tests
// and real clients (librdkafka, kcat, Python ssl) can all load them.
// Certificates are X.509 v3, SHA-256 signed, with basicConstraints, keyUsage,
// extendedKeyUsage, subject/authority key identifiers and random serials, so OpenSSL 3 at its
// default security level verifies them. Keys are unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
// Test-only: failures throw std::runtime_error so a broken PKI fails the test that uses it.
// Set KGW_KEEP_TEST_PKI=1 to keep the directory for inspection after the test.
// Threading: not thread-safe; create and use it from one thread (the files may be read from
// any thread or process once written).
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::testing {

class test_pki {
 public:
  // The CA key is EC P-256 unless rsa_ca (RSA 2048), for the few clients that need RSA.
  explicit test_pki(std::string_view name = "kgw-pki", bool rsa_ca = false);
  ~test_pki();
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  const std::filesystem::path& dir() const;
  const std::filesystem::path& ca_cert() const;  // PEM
  const std::filesystem::path& ca_key() const;   // PEM, PKCS#8; for tests that sign with openssl(1)

  struct issued {
    std::filesystem::path cert, key;  // <dir>/<file_stem>.pem and <dir>/<file_stem>.key
  };

  // subject: RFC 2253 order, most specific first ("CN=alice,OU=eng,O=Example Corp"); any
  // attribute OpenSSL knows (CN, OU, O, L, ST, C, emailAddress, UID, DC, ...); '+' joins a
  // multi-valued RDN; a backslash escapes the next character. Values are UTF-8.
  // sans: "DNS:localhost", "IP:127.0.0.1", "IP:::1", "URI:spiffe://example.org/x", "email:a@b.c"
  // and "RID:1.2.3.4" (a registeredID, for testing names the gateway ignores); prefix
  // case-insensitive; kept in this order in the certificate.
  // server: extendedKeyUsage serverAuth, else clientAuth. rsa: RSA 2048 key, else EC P-256.
  // The certificate is valid from an hour ago (clock skew) until now + valid_for.
  issued issue(std::string_view file_stem, std::string_view subject, std::vector<std::string> sans, bool server,
               bool rsa = false, std::chrono::hours valid_for = std::chrono::hours(24));
  issued issue_server(std::string_view file_stem = "server");  // CN=localhost, DNS:localhost, IP:127.0.0.1
  issued issue_client(std::string_view file_stem, std::string_view subject, std::vector<std::string> sans = {});
  // Signed by an independent CA that nothing trusts (for "untrusted client" tests); its
  // certificate is written to <dir>/untrusted-ca.pem.
  issued issue_untrusted_client(std::string_view file_stem, std::string_view subject);
  // Signed by this CA, valid from 48 hours ago until 24 hours ago.
  issued issue_expired_client(std::string_view file_stem, std::string_view subject);

 private:
  struct authority;  // CA certificate and key (OpenSSL objects live in the .cpp)

  issued issue_with(const authority& ca, std::string_view file_stem, std::string_view subject,
                    const std::vector<std::string>& sans, bool server, bool rsa, std::chrono::seconds not_before,
                    std::chrono::seconds not_after);
  const authority& untrusted_authority();

  std::filesystem::path dir_, ca_cert_, ca_key_;
  std::unique_ptr<authority> ca_, untrusted_ca_;
};

}  // namespace kgw::testing

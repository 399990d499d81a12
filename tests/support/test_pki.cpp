#include "tests/support/test_pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace kgw::testing {
namespace {

struct openssl_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(GENERAL_NAME* p) const { GENERAL_NAME_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <typename T>
using owned = std::unique_ptr<T, openssl_free>;

[[noreturn]] void fail(std::string_view what) {
  std::string message = "test_pki: ";
  message += what;
  char buffer[256];
  while (const unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buffer, sizeof buffer);
    message += ": ";
    message += buffer;
  }
  throw std::runtime_error(message);
}

void check(bool ok, std::string_view what) {
  if (!ok) fail(what);
}

owned<EVP_PKEY> generate_key(bool rsa) {
  owned<EVP_PKEY> key(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  check(key != nullptr, rsa ? "RSA key generation" : "EC key generation");
  return key;
}

struct attribute {
  std::string type, value;
};

// "CN=alice+UID=a1,OU=eng,O=Example Corp" -> RDNs as written (most specific first).
std::vector<std::vector<attribute>> parse_dn(std::string_view dn) {
  std::vector<std::vector<attribute>> rdns;
  if (dn.empty()) return rdns;
  rdns.emplace_back().emplace_back();
  bool in_value = false;
  const auto finish = [&](std::string_view context) {
    attribute& a = rdns.back().back();
    while (!a.type.empty() && a.type.back() == ' ') a.type.pop_back();
    if (!in_value || a.type.empty()) fail("malformed subject \"" + std::string(dn) + "\" near " + std::string(context));
  };
  for (std::size_t i = 0; i < dn.size(); ++i) {
    const char c = dn[i];
    attribute& a = rdns.back().back();
    if (c == '\\' && i + 1 < dn.size()) {
      (in_value ? a.value : a.type) += dn[++i];
    } else if (c == '=' && !in_value) {
      in_value = true;
    } else if ((c == ',' || c == '+') && in_value) {
      finish(dn.substr(i));
      if (c == ',') rdns.emplace_back();
      rdns.back().emplace_back();
      in_value = false;
    } else if (!in_value && c == ' ' && a.type.empty()) {
      // spaces after a separator, as in "CN=a, O=b"
    } else {
      (in_value ? a.value : a.type) += c;
    }
  }
  finish("the end");
  return rdns;
}

owned<X509_NAME> make_name(std::string_view dn) {
  owned<X509_NAME> name(X509_NAME_new());
  check(name != nullptr, "X509_NAME_new");
  const auto rdns = parse_dn(dn);
  // The certificate stores RDNs least specific first, the reverse of the RFC 2253 text.
  for (auto rdn = rdns.rbegin(); rdn != rdns.rend(); ++rdn) {
    for (std::size_t j = 0; j < rdn->size(); ++j) {
      const attribute& a = (*rdn)[j];
      check(X509_NAME_add_entry_by_txt(name.get(), a.type.c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(a.value.data()),
                                       static_cast<int>(a.value.size()), -1, j == 0 ? 0 : -1) == 1,
            "subject attribute " + a.type + "=" + a.value);
    }
  }
  return name;
}

void add_extension(X509* cert, X509V3_CTX& ctx, int nid, const char* value) {
  owned<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  check(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1,
        std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
}

void add_subject_alt_names(X509* cert, const std::vector<std::string>& sans, bool critical) {
  owned<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  check(names != nullptr, "GENERAL_NAMES");
  for (const auto& san : sans) {
    const auto colon = san.find(':');
    if (colon == std::string::npos) fail("SAN without a type prefix: " + san);
    std::string prefix = san.substr(0, colon);
    for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string value = san.substr(colon + 1);
    owned<GENERAL_NAME> name(GENERAL_NAME_new());
    check(name != nullptr, "GENERAL_NAME_new");
    if (prefix == "rid") {
      ASN1_OBJECT* oid = OBJ_txt2obj(value.c_str(), 1);
      check(oid != nullptr, "SAN registeredID " + value);
      GENERAL_NAME_set0_value(name.get(), GEN_RID, oid);
    } else if (prefix == "ip") {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
      check(ip != nullptr, "SAN IP address " + value);
      GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip);
    } else {
      const int type = prefix == "dns" ? GEN_DNS : prefix == "uri" ? GEN_URI : prefix == "email" ? GEN_EMAIL : -1;
      if (type < 0) fail("unknown SAN type in " + san + " (DNS, IP, URI, email or RID)");
      ASN1_IA5STRING* text = ASN1_IA5STRING_new();
      check(text != nullptr && ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) == 1, "SAN " + san);
      GENERAL_NAME_set0_value(name.get(), type, text);
    }
    check(sk_GENERAL_NAME_push(names.get(), name.get()) > 0, "SAN push");
    name.release();  // now owned by `names`
  }
  check(X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), critical ? 1 : 0, X509V3_ADD_DEFAULT) == 1,
        "subjectAltName extension");
}

void set_random_serial(X509* cert) {
  // 127 random bits, positive, first byte non-zero: a fixed 16-byte DER serial, unique per cert
  // so clients that cache by issuer+serial never confuse two test runs.
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof bytes) == 1, "RAND_bytes");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7F) | 0x40);
  owned<BIGNUM> serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
  check(serial != nullptr && BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) != nullptr, "serial");
}

struct certificate_spec {
  std::string_view subject;
  const std::vector<std::string>* sans = nullptr;
  bool ca = false;
  bool server = false;
  bool rsa = false;
  std::chrono::seconds not_before{}, not_after{};  // relative to now
};

// issuer_cert / issuer_key null: self-signed with `key`.
owned<X509> make_certificate(const certificate_spec& spec, EVP_PKEY* key, X509* issuer_cert, EVP_PKEY* issuer_key) {
  owned<X509> cert(X509_new());
  check(cert != nullptr && X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_new");
  set_random_serial(cert.get());
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before.count()) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after.count()) != nullptr,
        "validity");
  const auto subject = make_name(spec.subject);
  check(X509_set_subject_name(cert.get(), subject.get()) == 1, "subject");
  check(X509_set_issuer_name(cert.get(), issuer_cert ? X509_get_subject_name(issuer_cert) : subject.get()) == 1,
        "issuer");
  check(X509_set_pubkey(cert.get(), key) == 1, "public key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert : cert.get(), cert.get(), nullptr, nullptr, 0);
  if (spec.ca) {
    add_extension(cert.get(), ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_extension(cert.get(), ctx, NID_basic_constraints, "critical,CA:FALSE");
    // keyEncipherment lets RSA keys serve TLS 1.2 RSA key exchange as well.
    add_extension(cert.get(), ctx, NID_key_usage,
                  spec.rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
    add_extension(cert.get(), ctx, NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth");
  }
  // The subject key id must exist before the authority key id: a self-signed CA's AKI copies it.
  add_extension(cert.get(), ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ctx, NID_authority_key_identifier, "keyid:always");
  if (spec.sans != nullptr && !spec.sans->empty()) {
    // RFC 5280: with an empty subject the SANs carry the identity and must be critical.
    add_subject_alt_names(cert.get(), *spec.sans, spec.subject.empty());
  }
  check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "signing");
  return cert;
}

void write_certificate(const std::filesystem::path& path, X509* cert) {
  owned<BIO> out(BIO_new_file(path.c_str(), "w"));
  check(out != nullptr && PEM_write_bio_X509(out.get(), cert) == 1, "writing " + path.string());
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
  {
    owned<BIO> out(BIO_new_file(path.c_str(), "w"));
    check(out != nullptr && PEM_write_bio_PKCS8PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing " + path.string());
  }
  // Some clients refuse a private key that others can read.
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  check(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) == 1, "RAND_bytes");
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : raw) {
    hex += digits[static_cast<unsigned char>(c) >> 4];
    hex += digits[static_cast<unsigned char>(c) & 0x0F];
  }
  return hex;
}

constexpr std::chrono::seconds one_hour{3600};

struct key_and_cert {
  owned<EVP_PKEY> key;
  owned<X509> cert;
};

key_and_cert make_ca(const std::string& subject, bool rsa) {
  key_and_cert ca{.key = generate_key(rsa), .cert = nullptr};
  const certificate_spec spec{
      .subject = subject, .ca = true, .rsa = rsa, .not_before = -one_hour, .not_after = std::chrono::hours(24 * 30)};
  ca.cert = make_certificate(spec, ca.key.get(), nullptr, nullptr);
  return ca;
}

void check_stem(std::string_view stem) {
  // The CA files live next to the issued ones; a stem must not overwrite them or escape dir().
  if (stem.empty() || stem == "." || stem == ".." || stem.find('/') != std::string_view::npos || stem == "ca" ||
      stem == "untrusted-ca") {
    throw std::invalid_argument("test_pki: bad file stem \"" + std::string(stem) + "\"");
  }
}

}  // namespace

struct test_pki::authority {
  owned<X509> cert;
  owned<EVP_PKEY> key;
};

test_pki::test_pki(std::string_view name, bool rsa_ca) {
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; dir_.empty(); ++attempt) {
    if (attempt == 8) fail("cannot create a unique directory under " + base.string());
    auto candidate = base / (std::string(name) + "-" + random_hex(8));
    if (std::filesystem::create_directory(candidate)) dir_ = std::move(candidate);
  }
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  ca_cert_ = dir_ / "ca.pem";
  ca_key_ = dir_ / "ca.key";
  auto ca = make_ca("CN=" + std::string(name) + " Test CA,O=kgw tests", rsa_ca);
  write_certificate(ca_cert_, ca.cert.get());
  write_key(ca_key_, ca.key.get());
  ca_ = std::make_unique<authority>(authority{.cert = std::move(ca.cert), .key = std::move(ca.key)});
}

test_pki::~test_pki() {
  if (const char* keep = std::getenv("KGW_KEEP_TEST_PKI"); keep != nullptr && std::string_view(keep) == "1") return;
  std::error_code ignored;  // a destructor must not throw; a leftover temp dir is harmless
  std::filesystem::remove_all(dir_, ignored);
}

const std::filesystem::path& test_pki::dir() const { return dir_; }
const std::filesystem::path& test_pki::ca_cert() const { return ca_cert_; }
const std::filesystem::path& test_pki::ca_key() const { return ca_key_; }

test_pki::issued test_pki::issue_with(const authority& ca, std::string_view file_stem, std::string_view subject,
                                      const std::vector<std::string>& sans, bool server, bool rsa,
                                      std::chrono::seconds not_before, std::chrono::seconds not_after) {
  check_stem(file_stem);
  const auto key = generate_key(rsa);
  const certificate_spec spec{.subject = subject,
                              .sans = &sans,
                              .ca = false,
                              .server = server,
                              .rsa = rsa,
                              .not_before = not_before,
                              .not_after = not_after};
  const auto cert = make_certificate(spec, key.get(), ca.cert.get(), ca.key.get());
  issued out{.cert = dir_ / (std::string(file_stem) + ".pem"), .key = dir_ / (std::string(file_stem) + ".key")};
  write_certificate(out.cert, cert.get());
  write_key(out.key, key.get());
  return out;
}

const test_pki::authority& test_pki::untrusted_authority() {
  if (!untrusted_ca_) {
    auto ca = make_ca("CN=Untrusted Test CA,O=kgw tests", false);
    write_certificate(dir_ / "untrusted-ca.pem", ca.cert.get());
    untrusted_ca_ = std::make_unique<authority>(authority{.cert = std::move(ca.cert), .key = std::move(ca.key)});
  }
  return *untrusted_ca_;
}

test_pki::issued test_pki::issue(std::string_view file_stem, std::string_view subject, std::vector<std::string> sans,
                                 bool server, bool rsa, std::chrono::hours valid_for) {
  return issue_with(*ca_, file_stem, subject, sans, server, rsa, -one_hour, valid_for);
}

test_pki::issued test_pki::issue_server(std::string_view file_stem) {
  return issue(file_stem, "CN=localhost", {"DNS:localhost", "IP:127.0.0.1"}, true);
}

test_pki::issued test_pki::issue_client(std::string_view file_stem, std::string_view subject,
                                        std::vector<std::string> sans) {
  return issue(file_stem, subject, std::move(sans), false);
}

test_pki::issued test_pki::issue_untrusted_client(std::string_view file_stem, std::string_view subject) {
  return issue_with(untrusted_authority(), file_stem, subject, {}, false, false, -one_hour, std::chrono::hours(24));
}

test_pki::issued test_pki::issue_expired_client(std::string_view file_stem, std::string_view subject) {
  return issue_with(*ca_, file_stem, subject, {}, false, false, -std::chrono::hours(48), -std::chrono::hours(24));
}

}  // namespace kgw::testing

// read_cert_identity on certificates from test_pki, and test_pki itself: every certificate it
// issues must verify (or fail to, for the untrusted and expired ones) under OpenSSL 3's
// defaults, in X509_verify_cert and in a real in-memory mutual-TLS handshake.
#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gateway/security/cert_identity.h"
#include "gateway/security/principal_mapping.h"
#include "tests/support/test_pki.h"

using kgw::security::cert_identity;
using kgw::security::read_cert_identity;
using kgw::testing::test_pki;

namespace {

struct openssl_free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <typename T>
using owned = std::unique_ptr<T, openssl_free>;

owned<X509> load_cert(const std::filesystem::path& path) {
  owned<BIO> in(BIO_new_file(path.c_str(), "r"));
  REQUIRE(in);
  owned<X509> cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  REQUIRE(cert);
  return cert;
}

owned<EVP_PKEY> load_key(const std::filesystem::path& path) {
  owned<BIO> in(BIO_new_file(path.c_str(), "r"));
  REQUIRE(in);
  owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  REQUIRE(key);
  return key;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// X509_V_OK or the verification error, checking the chain against `ca` for `purpose`.
int verify(const std::filesystem::path& ca, const std::filesystem::path& leaf, int purpose) {
  owned<X509_STORE> store(X509_STORE_new());
  REQUIRE(X509_STORE_load_file(store.get(), ca.c_str()) == 1);
  const auto cert = load_cert(leaf);
  owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) == 1);
  REQUIRE(X509_STORE_CTX_set_purpose(ctx.get(), purpose) == 1);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  const int error = X509_STORE_CTX_get_error(ctx.get());
  REQUIRE(error != X509_V_OK);
  return error;
}

cert_identity identity_of(const std::filesystem::path& cert_path) {
  const auto cert = load_cert(cert_path);
  return read_cert_identity(cert.get());
}

// OpenSSL's own RFC 2253 rendering, for cross-checking plain ASCII names.
std::string openssl_rfc2253(const std::filesystem::path& cert_path) {
  const auto cert = load_cert(cert_path);
  owned<BIO> out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

using san_list = std::vector<std::pair<std::string, std::string>>;

struct handshake_result {
  bool ok = false;
  long server_verify_result = X509_V_OK;
  cert_identity peer;  // what the server saw
};

// A full TLS handshake between two in-memory SSL objects, the server demanding a client
// certificate as the gateway's mTLS listener will; the client checks the server's name.
handshake_result handshake(const test_pki& pki, const test_pki::issued& server, const test_pki::issued* client) {
  owned<SSL_CTX> server_ctx(SSL_CTX_new(TLS_server_method()));
  owned<SSL_CTX> client_ctx(SSL_CTX_new(TLS_client_method()));
  REQUIRE(server_ctx);
  REQUIRE(client_ctx);
  REQUIRE(SSL_CTX_use_certificate_chain_file(server_ctx.get(), server.cert.c_str()) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(server_ctx.get(), server.key.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_load_verify_locations(server_ctx.get(), pki.ca_cert().c_str(), nullptr) == 1);
  SSL_CTX_set_verify(server_ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  REQUIRE(SSL_CTX_load_verify_locations(client_ctx.get(), pki.ca_cert().c_str(), nullptr) == 1);
  SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (client != nullptr) {
    REQUIRE(SSL_CTX_use_certificate_chain_file(client_ctx.get(), client->cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(client_ctx.get(), client->key.c_str(), SSL_FILETYPE_PEM) == 1);
  }

  owned<SSL> server_ssl(SSL_new(server_ctx.get()));
  owned<SSL> client_ssl(SSL_new(client_ctx.get()));
  REQUIRE(SSL_set1_host(client_ssl.get(), "localhost") == 1);
  REQUIRE(SSL_set_tlsext_host_name(client_ssl.get(), "localhost") == 1);
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  REQUIRE(BIO_new_bio_pair(&server_bio, 0, &client_bio, 0) == 1);
  SSL_set_bio(server_ssl.get(), server_bio, server_bio);
  SSL_set_bio(client_ssl.get(), client_bio, client_bio);
  SSL_set_accept_state(server_ssl.get());
  SSL_set_connect_state(client_ssl.get());

  handshake_result result;
  bool client_done = false;
  bool server_done = false;
  const auto pending = [](SSL* ssl, int rc) {
    const int error = SSL_get_error(ssl, rc);
    return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
  };
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!client_done) {
      const int rc = SSL_do_handshake(client_ssl.get());
      client_done = rc == 1;
      if (!client_done && !pending(client_ssl.get(), rc)) break;
    }
    if (!server_done) {
      const int rc = SSL_do_handshake(server_ssl.get());
      server_done = rc == 1;
      if (!server_done && !pending(server_ssl.get(), rc)) break;
    }
  }
  ERR_clear_error();
  result.server_verify_result = SSL_get_verify_result(server_ssl.get());
  // In TLS 1.3 the client finishes before the server has judged its certificate; only the
  // server completing means the client was accepted.
  result.ok = client_done && server_done;
  if (server_done) result.peer = read_cert_identity(SSL_get0_peer_certificate(server_ssl.get()));
  return result;
}

}  // namespace

TEST_CASE("test_pki: issued certificates verify against the CA with OpenSSL defaults", "[test_pki]") {
  test_pki pki("kgw-pki-verify");
  REQUIRE(std::filesystem::is_regular_file(pki.ca_cert()));

  const auto server = pki.issue_server();
  const auto server_rsa = pki.issue("server-rsa", "CN=localhost", {"DNS:localhost", "IP:127.0.0.1"}, true, true);
  const auto client = pki.issue_client("alice", "CN=alice,OU=eng,O=Example Corp");
  const auto client_rsa = pki.issue("bob-rsa", "CN=bob", {}, false, true);

  CHECK(verify(pki.ca_cert(), server.cert, X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  CHECK(verify(pki.ca_cert(), server_rsa.cert, X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  CHECK(verify(pki.ca_cert(), client.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  CHECK(verify(pki.ca_cert(), client_rsa.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);

  // extendedKeyUsage is really there: a client certificate is no server certificate.
  CHECK(verify(pki.ca_cert(), client.cert, X509_PURPOSE_SSL_SERVER) == X509_V_ERR_INVALID_PURPOSE);
  CHECK(verify(pki.ca_cert(), server.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_ERR_INVALID_PURPOSE);

  const auto untrusted = pki.issue_untrusted_client("mallory", "CN=mallory");
  CHECK(verify(pki.ca_cert(), untrusted.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  // ...yet it is well-formed: its own CA accepts it, so only trust makes the difference.
  CHECK(verify(pki.dir() / "untrusted-ca.pem", untrusted.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);

  const auto expired = pki.issue_expired_client("late", "CN=late");
  CHECK(verify(pki.ca_cert(), expired.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_CASE("test_pki: an RSA CA works too", "[test_pki]") {
  test_pki pki("kgw-pki-rsa", true);
  const auto ca = load_cert(pki.ca_cert());
  CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(ca.get())) == EVP_PKEY_RSA);
  CHECK(X509_get_signature_nid(ca.get()) == NID_sha256WithRSAEncryption);
  const auto client = pki.issue_client("carol", "CN=carol");
  CHECK(verify(pki.ca_cert(), client.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  const auto server = pki.issue_server();
  CHECK(handshake(pki, server, &client).ok);
}

TEST_CASE("test_pki: certificate and key files have the expected shape", "[test_pki]") {
  test_pki pki("kgw-pki-shape");
  const auto ca = load_cert(pki.ca_cert());
  CHECK(X509_get_version(ca.get()) == X509_VERSION_3);
  CHECK(X509_check_ca(ca.get()) == 1);
  CHECK(X509_get_signature_nid(ca.get()) == NID_ecdsa_with_SHA256);
  CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(ca.get())) == EVP_PKEY_EC);
  CHECK(X509_check_issued(ca.get(), ca.get()) == X509_V_OK);  // self-signed, AKI matches SKI
  CHECK(X509_get0_subject_key_id(ca.get()) != nullptr);

  const auto a = pki.issue_client("a", "CN=a");
  const auto b = pki.issue_client("b", "CN=b");
  CHECK(a.cert == pki.dir() / "a.pem");
  CHECK(a.key == pki.dir() / "a.key");
  const auto cert_a = load_cert(a.cert);
  const auto cert_b = load_cert(b.cert);
  CHECK(X509_get_version(cert_a.get()) == X509_VERSION_3);
  CHECK(X509_check_ca(cert_a.get()) == 0);
  CHECK(X509_get_signature_nid(cert_a.get()) == NID_ecdsa_with_SHA256);
  CHECK(X509_get_key_usage(cert_a.get()) == KU_DIGITAL_SIGNATURE);
  CHECK(X509_get_extended_key_usage(cert_a.get()) == XKU_SSL_CLIENT);
  CHECK(X509_get0_subject_key_id(cert_a.get()) != nullptr);
  CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert_a.get()), X509_get0_subject_key_id(ca.get())) == 0);
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(cert_a.get()), X509_get0_serialNumber(cert_b.get())) != 0);

  // The key on disk is unencrypted PKCS#8, private to the owner, and belongs to the cert.
  const auto key_text = read_text(a.key);
  CHECK(key_text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  CHECK((std::filesystem::status(a.key).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(X509_check_private_key(cert_a.get(), load_key(a.key).get()) == 1);
  CHECK(read_text(a.cert).starts_with("-----BEGIN CERTIFICATE-----\n"));

  const auto rsa = pki.issue("r", "CN=r", {}, true, true);
  const auto cert_r = load_cert(rsa.cert);
  CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(cert_r.get())) == EVP_PKEY_RSA);
  CHECK(X509_get_key_usage(cert_r.get()) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  CHECK(X509_get_extended_key_usage(cert_r.get()) == XKU_SSL_SERVER);
  CHECK(read_text(rsa.key).starts_with("-----BEGIN PRIVATE KEY-----\n"));

  CHECK_THROWS_AS(pki.issue_client("ca", "CN=x"), std::invalid_argument);  // would overwrite the CA
  CHECK_THROWS_AS(pki.issue_client("../x", "CN=x"), std::invalid_argument);
}

TEST_CASE("test_pki: the directory is unique and removed with the object", "[test_pki]") {
  std::filesystem::path dir;
  {
    test_pki one("kgw-pki-life");
    test_pki two("kgw-pki-life");
    dir = one.dir();
    CHECK(one.dir() != two.dir());
    CHECK(dir.parent_path() == std::filesystem::temp_directory_path());
    CHECK(dir.filename().string().starts_with("kgw-pki-life-"));
    CHECK(std::filesystem::is_directory(dir));
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("test_pki: mutual TLS handshake accepts issued certificates and rejects bad ones", "[test_pki][tls]") {
  test_pki pki("kgw-pki-tls");
  const auto server = pki.issue_server();

  SECTION("EC client") {
    const auto client = pki.issue_client("alice", "CN=alice,OU=eng,O=Example Corp");
    const auto result = handshake(pki, server, &client);
    REQUIRE(result.ok);
    CHECK(result.peer.subject_dn == "CN=alice,OU=eng,O=Example Corp");
    const auto principal = kgw::security::principal_mapping::parse({"RULE:^CN=([^,]+),.*$/$1/"})->map(result.peer);
    CHECK(principal == "alice");
  }
  SECTION("RSA server and RSA client") {
    const auto rsa_server = pki.issue("server-rsa", "CN=localhost", {"DNS:localhost"}, true, true);
    const auto client = pki.issue("bob", "CN=bob", {"URI:spiffe://example.org/team/sales"}, false, true);
    const auto result = handshake(pki, rsa_server, &client);
    REQUIRE(result.ok);
    CHECK(result.peer.subject_dn == "CN=bob");
    CHECK(result.peer.sans == san_list{{"URI", "spiffe://example.org/team/sales"}});
  }
  SECTION("untrusted client is refused") {
    const auto client = pki.issue_untrusted_client("mallory", "CN=mallory");
    const auto result = handshake(pki, server, &client);
    CHECK_FALSE(result.ok);
    CHECK(result.server_verify_result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  }
  SECTION("expired client is refused") {
    const auto client = pki.issue_expired_client("late", "CN=late");
    const auto result = handshake(pki, server, &client);
    CHECK_FALSE(result.ok);
    CHECK(result.server_verify_result == X509_V_ERR_CERT_HAS_EXPIRED);
  }
  SECTION("client without a certificate is refused") { CHECK_FALSE(handshake(pki, server, nullptr).ok); }
}

TEST_CASE("read_cert_identity: subject DN in RFC 2253 order, as Java prints it", "[cert_identity]") {
  test_pki pki("kgw-pki-dn");

  SECTION("plain attributes, most specific first") {
    const auto cert = pki.issue_client("alice", "CN=alice,OU=eng,O=Example Corp,L=Springfield,ST=Oregon,C=US");
    const auto id = identity_of(cert.cert);
    CHECK(id.subject_dn == "CN=alice,OU=eng,O=Example Corp,L=Springfield,ST=Oregon,C=US");
    // For plain ASCII names Java's text and OpenSSL's RFC 2253 printer agree.
    CHECK(id.subject_dn == openssl_rfc2253(cert.cert));
    CHECK(id.sans.empty());
  }
  SECTION("special characters are escaped the way X500Principal.getName() escapes them") {
    const auto cert = pki.issue_client("esc", R"(CN=Smith\, John,OU= padded ,O=a\+b=c<d>e;f"g\\h#i,L=#hash,C=US)");
    CHECK(identity_of(cert.cert).subject_dn ==
          R"(CN=Smith\, John,OU=\ padded\ ,O=a\+b\=c\<d\>e\;f\"g\\h\#i,L=\#hash,C=US)");
  }
  SECTION("UTF-8 stays UTF-8 (OpenSSL's printer would write \\C3\\BC)") {
    const auto cert = pki.issue_client("utf8", "CN=J\xC3\xBCrgen M\xC3\xBCller,O=Beispiel GmbH,C=DE");
    CHECK(identity_of(cert.cert).subject_dn == "CN=J\xC3\xBCrgen M\xC3\xBCller,O=Beispiel GmbH,C=DE");
  }
  SECTION("attributes without an RFC 2253 keyword are OID=#hex-DER, like Java") {
    const auto cert = pki.issue_client("oid", "CN=bob,emailAddress=bob@example.com,serialNumber=42,O=Example");
    CHECK(identity_of(cert.cert).subject_dn ==
          "CN=bob,1.2.840.113549.1.9.1=#160f626f62406578616d706c652e636f6d,2.5.4.5=#13023432,O=Example");
  }
  SECTION("DC, UID and STREET keep their keywords") {
    const auto cert = pki.issue_client("dc", "UID=u123,street=1 Main St,DC=example,DC=org");
    CHECK(identity_of(cert.cert).subject_dn == "UID=u123,STREET=1 Main St,DC=example,DC=org");
  }
  SECTION("multi-valued RDN joined with '+', in encoded (DER SET) order") {
    const auto cert = pki.issue_client("multi", "UID=a1+CN=alice,O=Example");
    CHECK(identity_of(cert.cert).subject_dn == "CN=alice+UID=a1,O=Example");
  }
}

// registeredID (and otherName, dirName, ...) entries are skipped; the rest keep their order.
TEST_CASE("read_cert_identity: subjectAltName entries with type, in certificate order", "[cert_identity]") {
  test_pki pki("kgw-pki-san");
  const auto cert =
      pki.issue_client("svc", "CN=svc",
                       {"URI:spiffe://example.org/team/sales", "DNS:svc.example.org", "email:svc@example.org",
                        "IP:10.1.2.3", "IP:2001:DB8:0:0:0:0:0:1", "RID:1.2.3.4", "IP:::1", "DNS:second.example.org"});
  const auto id = identity_of(cert.cert);
  CHECK(id.subject_dn == "CN=svc");
  CHECK(id.sans == san_list{{"URI", "spiffe://example.org/team/sales"},
                            {"DNS", "svc.example.org"},
                            {"EMAIL", "svc@example.org"},
                            {"IP", "10.1.2.3"},
                            {"IP", "2001:db8::1"},
                            {"IP", "::1"},
                            {"DNS", "second.example.org"}});

  // A NUL inside a name (the classic "good.example.org\0.evil.net" trick) drops the entry.
  using namespace std::string_literals;
  const auto nul = pki.issue_client("nul", "CN=nul", {"DNS:good.example.org\0.evil.net"s, "DNS:ok.example.org"});
  CHECK(identity_of(nul.cert).sans == san_list{{"DNS", "ok.example.org"}});

  const auto server = identity_of(pki.issue_server().cert);
  CHECK(server.subject_dn == "CN=localhost");
  CHECK(server.sans == san_list{{"DNS", "localhost"}, {"IP", "127.0.0.1"}});
}

TEST_CASE("read_cert_identity: empty subject with SANs only, and no certificate", "[cert_identity]") {
  test_pki pki("kgw-pki-empty");
  const auto cert = pki.issue_client("spiffe-only", "", {"URI:spiffe://example.org/ns/prod/sa/api"});
  // RFC 5280 needs the SAN critical when the subject is empty; OpenSSL must still accept it.
  CHECK(verify(pki.ca_cert(), cert.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  const auto id = identity_of(cert.cert);
  CHECK(id.subject_dn.empty());
  CHECK(id.sans == san_list{{"URI", "spiffe://example.org/ns/prod/sa/api"}});

  const auto none = read_cert_identity(nullptr);
  CHECK(none.subject_dn.empty());
  CHECK(none.sans.empty());
}

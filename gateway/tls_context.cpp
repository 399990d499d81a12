#include "gateway/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <stdexcept>

namespace kgw::gateway {
namespace ssl = boost::asio::ssl;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& why) { throw std::runtime_error(what + ": " + why); }

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

void common(ssl::context& ctx, const config::tls_settings& s, const std::string& what) {
  SSL_CTX* c = ctx.native_handle();
  // TLS 1.2 is the floor: older versions are broken and Kafka dropped them too.
  const int min = s.min_version == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(c, min) != 1) fail(what, "cannot set min_version: " + openssl_error());
  if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(c, s.ciphers.c_str()) != 1)
    fail(what, "no usable cipher in ciphers '" + s.ciphers + "'");
  if (!s.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, s.ciphersuites.c_str()) != 1)
    fail(what, "no usable suite in ciphersuites '" + s.ciphersuites + "'");
  if (!s.curves.empty() && SSL_CTX_set1_groups_list(c, s.curves.c_str()) != 1)
    fail(what, "unknown group in curves '" + s.curves + "'");
  boost::system::error_code ec;
  if (!s.key_password.empty()) {
    const std::string pw = s.key_password;
    ctx.set_password_callback([pw](std::size_t, ssl::context::password_purpose) { return pw; });
  }
  if (!s.certificate_pem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(s.certificate_pem), ec);
    if (ec) fail(what, "certificate is not a valid PEM certificate chain: " + ec.message());
    ctx.use_private_key(boost::asio::buffer(s.key_pem), ssl::context::pem, ec);
    if (ec) fail(what, "key is not a valid PEM private key (or key_password is wrong): " + ec.message());
    if (SSL_CTX_check_private_key(c) != 1) fail(what, "key does not match the certificate");
  }
  if (!s.ca_pem.empty()) {
    ctx.add_certificate_authority(boost::asio::buffer(s.ca_pem), ec);
    if (ec) fail(what, "ca is not a valid PEM certificate bundle: " + ec.message());
  }
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls_context(const config::tls_server_settings& s, const std::string& what) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::single_dh_use | SSL_OP_NO_RENEGOTIATION);
  common(*ctx, s, what);
  switch (s.client_auth) {
    case config::client_auth_mode::none:
      ctx->set_verify_mode(ssl::verify_none);
      break;
    case config::client_auth_mode::requested:
      ctx->set_verify_mode(ssl::verify_peer);
      break;
    case config::client_auth_mode::required:
      ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      break;
  }
  if (s.client_auth != config::client_auth_mode::none) {
    // Tell clients which CAs we accept, so those holding several certificates pick the right one.
    BIO* bio = BIO_new_mem_buf(s.ca_pem.data(), static_cast<int>(s.ca_pem.size()));
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      SSL_CTX_add_client_CA(ctx->native_handle(), x);
      X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();  // the loop ends on a "no start line" error
    // Session resumption would skip certificate checks on resumed sessions' new principals;
    // OpenSSL keeps the peer certificate in the session, so resumption is safe, but a context
    // id is required for it with client certificates.
    static const unsigned char sid[] = "kafka-gateway";
    SSL_CTX_set_session_id_context(ctx->native_handle(), sid, sizeof sid - 1);
  }
  return ctx;
}

std::shared_ptr<ssl::context> make_client_tls_context(const config::tls_client_settings& s, const std::string& what) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
  common(*ctx, s, what);
  if (s.ca_pem.empty()) {
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);  // the system's trust store
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

std::string describe_tls_error(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    std::string s = buf;
    // "error:0A000086:SSL routines::certificate verify failed" -> the reason part.
    const auto pos = s.rfind(':');
    return pos == std::string::npos ? s : s.substr(pos + 1);
  }
  if (ec == boost::asio::ssl::error::stream_truncated) return "peer closed the connection during the handshake";
  return ec.message();
}

}  // namespace kgw::gateway

#pragma once
// OpenSSL contexts built from the configuration: one per TLS listener and one for upstream
// connections. Built once at start-up (errors name what is wrong and where); shared read-only by
// all workers afterwards (an SSL_CTX may be used by many threads to create connections).
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "config/gateway_config.h"

namespace boost::asio::ssl {
class context;
}

namespace kgw::gateway {

// Throws std::runtime_error("<what>: <reason>").
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const config::tls_server_settings& s,
                                                                   const std::string& what);
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const config::tls_client_settings& s,
                                                                   const std::string& what);

// OpenSSL's description of the last error on this thread, for handshake failure logs.
std::string describe_tls_error(const boost::system::error_code& ec);

}  // namespace kgw::gateway

#pragma once
// Opens the gateway's connections to upstream brokers: TCP, then TLS (CA verification, host
// name check, optional client certificate) and SASL PLAIN/SCRAM with the gateway's own service
// credentials, as `upstream:` configures. Client sessions and start-up discovery both use it,
// so every upstream connection is secured the same way.
// Threading: immutable after construction and shared by all workers; connect() runs on the
// executor of the stream it is given.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "protocol/wire.h"

namespace boost::asio::ssl {
class context;
}

namespace kgw::gateway {

class byte_stream;

class upstream_connector {
 public:
  // Builds the TLS context when upstream TLS is configured; throws std::runtime_error if invalid.
  explicit upstream_connector(const config::gateway_config& cfg);
  ~upstream_connector();

  // Connects the (unopened) stream to `target` and logs in. Returns "" on success, else why it
  // failed. Bounded by the configured upstream_connect_timeout.
  boost::asio::awaitable<std::string> connect(byte_stream& stream, const config::host_port& target) const;

  bool uses_tls() const { return tls_ != nullptr; }

 private:
  boost::asio::awaitable<std::string> connect_unbounded(byte_stream& stream, const config::host_port& target) const;
  boost::asio::awaitable<std::string> sasl_login(byte_stream& stream) const;

  const config::gateway_config& cfg_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

// One request/response exchange on a connection the gateway owns (discovery, SASL login).
// `request` is a complete frame; returns the response frame body (header included, size not).
// Throws std::runtime_error on I/O errors or an oversized answer.
boost::asio::awaitable<std::vector<std::byte>> exchange(byte_stream& stream, const protocol::writer& request);

}  // namespace kgw::gateway

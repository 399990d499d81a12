#pragma once
// Opens the gateway's connections to upstream brokers: TCP, then TLS (CA verification, host
// name check, optional client certificate) and SASL PLAIN/SCRAM with the gateway's own service
// credentials, as `upstream:` configures. Client sessions and start-up discovery both use it,
// so every upstream connection is secured the same way.
// Threading: immutable after construction and shared by all workers; connect() runs on the
// executor of the stream it is given.
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/api_versions_answer.h"
#include "protocol/headers.h"
#include "protocol/frames.h"
#include "protocol/wire.h"

namespace boost::asio::ssl {
class context;
}

namespace kgw::gateway {

class byte_stream;

class upstream_connector {
 public:
  // Builds the TLS context when upstream TLS is configured; throws std::runtime_error if invalid.
  // cfg: the configuration the gateway started with (upstream settings need a restart).
  explicit upstream_connector(std::shared_ptr<const config::gateway_config> cfg);
  ~upstream_connector();

  // Connected and logged in, or why not.
  using connected = std::expected<void, std::string>;

  // Connects the (unopened) stream to `target` and logs in; the stream is closed when that
  // fails. Bounded by the configured upstream_connect_timeout.
  boost::asio::awaitable<connected> connect(byte_stream& stream, const config::host_port& target) const;

  bool uses_tls() const { return tls_ != nullptr; }

 private:
  boost::asio::awaitable<connected> connect_unbounded(byte_stream& stream, const config::host_port& target) const;
  boost::asio::awaitable<connected> sasl_login(byte_stream& stream) const;

  std::shared_ptr<const config::gateway_config> cfg_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

// One request/response exchange on a connection the gateway owns (discovery, SASL login).
// `request` is a complete frame; returns the response frame body (header included, size not).
// Throws std::runtime_error on I/O errors or an oversized answer.
boost::asio::awaitable<std::vector<std::byte>> exchange(byte_stream& stream, const protocol::writer& request);

// A decoded answer and the bytes its string and byte fields point into.
template <class Response>
struct answered {
  std::vector<std::byte> body;
  Response msg;
};

// One request of the gateway's own (client id "kafka-gateway") at `version`, answered and
// decoded as Response. Throws std::runtime_error on I/O errors or a malformed answer.
template <class Response, class Request>
boost::asio::awaitable<answered<Response>> ask(byte_stream& stream, const Request& request, std::int16_t version,
                                               std::int32_t correlation_id) {
  answered<Response> out;
  out.body = co_await exchange(stream, protocol::encode_request(request, version, correlation_id, "kafka-gateway"));
  protocol::reader r(out.body);  // views stay valid: moving `out` keeps the vector's storage
  protocol::response_header h;
  h.decode(r, protocol::response_header_version(Request::api_key, version));
  out.msg.decode(r, version);
  if (!r.ok())
    throw std::runtime_error(std::string("malformed ") + protocol::find_api(Request::api_key)->name + " v" +
                             std::to_string(version) + " response: " + r.error().what);
  co_return out;
}

// The cluster's API version ranges, asked with ApiVersions v0 on a connection the gateway owns.
boost::asio::awaitable<std::vector<api_range>> fetch_api_versions(byte_stream& stream, std::int32_t correlation_id);

}  // namespace kgw::gateway

#pragma once
// The client handshake: who a new connection is, before any byte of it reaches a broker. TLS
// (the certificate's principal, mapped by the listener's rules; no certificate: ANONYMOUS, as
// Kafka does) and the SASL exchange the listener requires, answered by the gateway itself
// against the live generation's identities (ApiVersions before authentication is answered
// locally). Ends with the principal, or a failure: reported through `failed` (the session logs
// it, rate-limited per address, and emits the decision) and the connection closes.
// Threading: a coroutine on the session's worker thread, over the session's client stream.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/identity_store.h"

namespace kgw::gateway {

struct worker;
struct listener_runtime;
struct live_config;
class address_rewriter;
class byte_stream;
class frame_buffer;

class client_handshake {
 public:
  struct context {
    worker& w;
    const listener_runtime& l;
    byte_stream& client;
    frame_buffer& in;  // the client's bytes; what follows the handshake stays for the relay
    const std::string& peer;
    address_rewriter& rewriter;  // trims the local ApiVersions answer
    const live_config& live;     // the identities logins are checked against
    std::uint64_t& bytes_in;
    std::uint64_t& bytes_out;
    std::string& client_id;  // learnt from the first request that carries one
    // Learns the cluster's API versions when none are known yet (the cluster was down at start).
    std::function<boost::asio::awaitable<bool>()> learn_cluster_versions;
    std::function<void(std::string_view what, const std::string& detail)> failed;
  };

  client_handshake(worker& w, const listener_runtime& l, byte_stream& client, frame_buffer& in,
                   const std::string& peer, address_rewriter& rewriter, const live_config& live,
                   std::uint64_t& bytes_in, std::uint64_t& bytes_out, std::string& client_id,
                   std::function<boost::asio::awaitable<bool>()> learn_cluster_versions,
                   std::function<void(std::string_view, const std::string&)> failed);

  // What the listener requires (TLS, then SASL). nullopt: refused (already reported).
  boost::asio::awaitable<std::optional<authenticated_principal>> run();

 private:
  boost::asio::awaitable<bool> tls_handshake();
  boost::asio::awaitable<bool> authenticate();
  boost::asio::awaitable<bool> sasl_exchange();

  context c_;
  authenticated_principal principal_;
};

}  // namespace kgw::gateway

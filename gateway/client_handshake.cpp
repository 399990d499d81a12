#include "gateway/client_handshake.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "gateway/api_versions_answer.h"
#include "gateway/auth_pool.h"
#include "gateway/byte_stream.h"
#include "gateway/frame_buffer.h"
#include "protocol/api_keys.h"
#include "protocol/request_walk.h"
#include "gateway/listener.h"
#include "gateway/live_config.h"
#include "gateway/sasl_authenticator.h"
#include "gateway/security/cert_identity.h"
#include "gateway/tls_context.h"
#include "gateway/upstream_connector.h"
#include "gateway/worker.h"

namespace kgw::gateway {
namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// SASL frames before authentication are small; Kafka's sasl.server.max.receive.size default.
constexpr std::size_t max_sasl_frame = 512 * 1024;
}  // namespace

client_handshake::client_handshake(worker& w, const listener_runtime& l, byte_stream& client, frame_buffer& in,
                                   const std::string& peer, address_rewriter& rewriter, const live_config& live,
                                   std::uint64_t& bytes_in, std::uint64_t& bytes_out, std::string& client_id,
                                   std::function<awaitable<bool>()> learn_cluster_versions,
                                   std::function<void(std::string_view, const std::string&)> failed)
    : c_{w,         l,        client,    in, peer, rewriter, live, bytes_in, bytes_out,
         client_id, std::move(learn_cluster_versions), std::move(failed)} {}

awaitable<std::optional<authenticated_principal>> client_handshake::run() {
  // One co_return of a named result: with `if (!co_await x()) co_return std::nullopt;` here,
  // g++ 12's code crashed on resuming this frame.
  std::optional<authenticated_principal> who;
  const bool ok = (!c_.l.tls || co_await tls_handshake()) && (!c_.l.sasl || co_await authenticate());
  if (ok) who = principal_;
  co_return who;
}

// TLS handshake with the client; on success the principal is the certificate's, mapped by
// the listener's rules (no certificate: ANONYMOUS, as Kafka does). Failures are logged,
// rate-limited per source address, and close only this connection.
awaitable<bool> client_handshake::tls_handshake() {
  try {
    c_.client.enable_tls(*c_.l.tls, byte_stream::tls_role::server);
  } catch (const std::exception& e) {
    c_.failed("TLS handshake", std::string(e.what()) + " (" + c_.peer + ")");
    co_return false;
  }
  asio::steady_timer timer(c_.w.io, c_.l.cfg.tls->handshake_timeout);
  auto r = co_await (c_.client.tls_handshake() || timer.async_wait(use_tuple));
  if (r.index() == 1) {
    c_.failed("TLS handshake", "timed out (" + c_.peer + ")");
    co_return false;
  }
  if (auto ec = std::get<0>(r); ec) {
    c_.failed("TLS handshake failed",
                      describe_tls_error(ec) + " (" + c_.peer + ", listener " + c_.l.cfg.name + ")");
    co_return false;
  }
  principal_.mechanism = "SSL";
  X509* cert = SSL_get0_peer_certificate(c_.client.tls_handle());
  if (cert && SSL_get_verify_result(c_.client.tls_handle()) != X509_V_OK) {
    // Only reachable if verification were relaxed; never derive a principal from it.
    c_.failed("TLS client certificate refused",
                      "certificate not verified (" + c_.peer + ")");
    co_return false;
  }
  // On SASL_SSL the principal comes from SASL, as on a broker: mapping rules are for SSL.
  if (cert && !c_.l.sasl) {
    const auto id = security::read_cert_identity(cert);
    auto name = c_.l.mapping->map(id);
    // A principal name goes into logs and policy decisions: no control characters.
    if (name && std::any_of(name->begin(), name->end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      name.reset();
    if (!name) {
      c_.failed("TLS client certificate refused",
                        "no principal mapping rule matches subject '" + id.subject_dn + "' (" + c_.peer + ")");
      co_return false;
    }
    principal_.name = *name;
    principal_.known = c_.live.identities.find(principal_.name);
  }
  co_return true;
}

// The SASL exchange, answered by the gateway itself, bounded by the listener's auth_timeout.
awaitable<bool> client_handshake::authenticate() {
  asio::steady_timer timer(c_.w.io, c_.l.cfg.sasl->auth_timeout);
  auto r = co_await (sasl_exchange() || timer.async_wait(use_tuple));
  if (r.index() == 1) {
    c_.failed("SASL authentication",
                      "not completed within " + std::to_string(c_.l.cfg.sasl->auth_timeout.count()) + " ms (" +
                            c_.peer + ")");
    co_return false;
  }
  co_return std::get<0>(r);
}

awaitable<bool> client_handshake::sasl_exchange() {
  sasl_context ctx = *c_.l.sasl;
  ctx.identities = &c_.live.identities;  // users added by a reload log in, removed ones cannot
  sasl_authenticator auth(ctx);
  for (;;) {
    // One frame: legacy raw tokens may be tiny, so only the SASL size cap applies here.
    std::size_t need = 4;
    for (;;) {
      auto d = c_.in.data();
      if (d.size() >= 4) {
        const std::int32_t n = read_be32(d.data());
        if (n < 0 || static_cast<std::size_t>(n) > max_sasl_frame) {
          c_.failed("SASL authentication",
                            "invalid frame size " + std::to_string(n) + " before authentication (" + c_.peer + ")");
          co_return false;
        }
        need = static_cast<std::size_t>(n) + 4;
        if (d.size() >= need) break;
      }
      auto [ec, got] = co_await c_.client.read_into(c_.in, need - std::min(need, d.size()));
      if (ec) co_return false;  // the client left before authenticating
      c_.bytes_in += got;
    }
    const auto frame = c_.in.data().subspan(4, need - 4);
    if (c_.client_id.empty() && frame.size() >= 8) {
      // ApiVersions, SaslHandshake and SaslAuthenticate carry a header (legacy raw tokens do not).
      const auto key = static_cast<std::int16_t>(read_be16(frame.data()));
      if (key == protocol::api::api_versions || key == protocol::api::sasl_handshake ||
          key == protocol::api::sasl_authenticate)
        if (auto id = protocol::request_client_id(frame); id && *id) c_.client_id = std::string(**id);
    }
    sasl_authenticator::result res;
    if (auth.expects_token() && c_.w.auth) {
      // Password and signature checks run on the auth pool; this connection waits, the
      // worker's other connections do not.
      co_await c_.w.auth->run([&] { res = auth.on_frame(frame); });
    } else {
      res = auth.on_frame(frame);
    }
    c_.in.consume(need);
    if (res.credentials_refused && c_.w.cfg->failed_authentication_delay.count() > 0) {
      // Kafka's connection.failed.authentication.delay.ms: the answer to a failed login (and the
      // close) waits, so one connection cannot try passwords back to back.
      asio::steady_timer delay(c_.w.io, c_.w.cfg->failed_authentication_delay);
      co_await delay.async_wait(use_tuple);
    }
    if (res.what == sasl_authenticator::next::api_versions) {
      auto cluster = c_.w.versions.get();
      if (!cluster) {
        // Nothing learnt about the cluster yet (it was down at start-up): ask it now.
        if (!co_await c_.learn_cluster_versions()) co_return false;
        cluster = c_.w.versions.get();
      }
      c_.rewriter.filter_apis(*cluster);  // with ACLs on: only what the gateway can authorize
      res.frame = local_api_versions_response(res.correlation_id, res.api_version, *cluster, true);
    } else if (res.what == sasl_authenticator::next::close) {
      c_.failed("SASL authentication failed",
                        res.failure + " (" + c_.peer + ", listener " + c_.l.cfg.name + ")");
      co_return false;
    }
    if (!res.frame.empty()) {
      auto [ec, n] = co_await c_.client.write(asio::buffer(res.frame));
      if (ec) co_return false;
      c_.bytes_out += n;
    }
    if (res.what == sasl_authenticator::next::reply_and_close) {
      c_.failed("SASL authentication failed",
                        res.failure + " (" + c_.peer + ", listener " + c_.l.cfg.name + ")");
      // Let the client read the error before the connection goes.
      boost::system::error_code ec;
      c_.client.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return false;
    }
    if (res.what == sasl_authenticator::next::authenticated) {
      principal_ = auth.principal();
      co_return true;
    }
  }
}

}  // namespace kgw::gateway

#include "gateway/upstream_connector.h"

// The false positive of Asio's coroutine frame allocator under g++ 12 (see gateway.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ip/address.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "gateway/byte_stream.h"
#include "gateway/frame_buffer.h"
#include "gateway/logging.h"
#include "gateway/security/plain.h"
#include "gateway/security/scram.h"
#include "gateway/tls_context.h"
#include "protocol/api_versions.h"
#include "protocol/frames.h"
#include "protocol/headers.h"
#include "protocol/sasl_authenticate.h"
#include "protocol/sasl_handshake.h"

namespace kgw::gateway {
namespace asio = boost::asio;
namespace proto = kgw::protocol;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {
constexpr std::int16_t handshake_version = 1;     // then tokens go in SaslAuthenticate
constexpr std::int16_t authenticate_version = 1;  // v1 (Kafka 2.2+) adds session lifetime
}  // namespace

awaitable<std::vector<std::byte>> exchange(byte_stream& s, const proto::writer& request) {
  auto [wec, wn] = co_await s.write(asio::buffer(request.owned().data(), request.owned().size()));
  if (wec) throw std::runtime_error("write failed: " + wec.message());
  std::byte size_bytes[4];
  auto [rec, rn] = co_await s.read_exact(asio::buffer(size_bytes, 4));
  if (rec) throw std::runtime_error(rec == asio::error::eof ? "connection closed by the broker" : "read failed: " + rec.message());
  const std::int32_t n = read_be32(size_bytes);
  if (n < 4 || n > (64 << 20)) throw std::runtime_error("invalid response size " + std::to_string(n));
  std::vector<std::byte> body(static_cast<std::size_t>(n));
  auto [bec, bn] = co_await s.read_exact(asio::buffer(body.data(), body.size()));
  if (bec) throw std::runtime_error("read failed: " + bec.message());
  co_return body;
}

awaitable<std::vector<api_range>> fetch_api_versions(byte_stream& s, std::int32_t correlation_id) {
  const auto answer = co_await ask<proto::api_versions_response>(s, proto::api_versions_request{}, 0, correlation_id);
  if (answer.msg.error_code != 0)
    throw std::runtime_error("ApiVersions failed with error " + std::to_string(answer.msg.error_code));
  std::vector<api_range> ranges;
  for (const auto& k : answer.msg.api_keys) ranges.push_back({k.api_key, k.min_version, k.max_version});
  co_return ranges;
}

upstream_connector::upstream_connector(std::shared_ptr<const config::gateway_config> cfg) : cfg_(std::move(cfg)) {
  if (config::uses_tls(cfg_->upstream_protocol))
    tls_ = make_client_tls_context(cfg_->upstream_tls.value_or(config::tls_client_settings{}), "upstream.tls");
}

upstream_connector::~upstream_connector() = default;

// Each coroutine below names its result and co_returns that: g++ 12's code crashed on resuming
// a frame that co_returned a temporary built in the co_return (see client_handshake.cpp).
awaitable<upstream_connector::connected> upstream_connector::connect(byte_stream& stream,
                                                                     const config::host_port& target) const {
  asio::steady_timer timer(co_await asio::this_coro::executor, cfg_->upstream_connect_timeout);
  auto r = co_await (connect_unbounded(stream, target) || timer.async_wait(use_tuple));
  connected result = r.index() == 1 ? connected(std::unexpect, "timed out after " +
                                                                  std::to_string(cfg_->upstream_connect_timeout.count()) +
                                                                  " ms")
                                    : std::get<0>(std::move(r));
  if (!result) stream.close();
  co_return result;
}

awaitable<upstream_connector::connected> upstream_connector::connect_unbounded(byte_stream& stream,
                                                                               const config::host_port& target) const {
  connected result;
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [rec, results] = co_await resolver.async_resolve(target.host, std::to_string(target.port), use_tuple);
  if (rec) {
    result = std::unexpected("cannot resolve: " + rec.message());
    co_return result;
  }
  auto [cec, ep] = co_await asio::async_connect(stream.socket(), results, use_tuple);
  if (cec) {
    result = std::unexpected(cec.message());
    co_return result;
  }
  boost::system::error_code ec;
  stream.socket().set_option(tcp::no_delay(true), ec);

  if (tls_) {
    try {
      stream.enable_tls(*tls_, byte_stream::tls_role::client);
    } catch (const std::exception& e) {
      result = std::unexpected(e.what());
      co_return result;
    }
    SSL* ssl = stream.tls_handle();
    const auto& s = cfg_->upstream_tls.value_or(config::tls_client_settings{});
    const std::string name = s.server_name.empty() ? target.host : s.server_name;
    boost::system::error_code addr_ec;
    const bool is_address = (asio::ip::make_address(name, addr_ec), !addr_ec);
    if (!is_address) SSL_set_tlsext_host_name(ssl, name.c_str());  // SNI names hosts, never addresses (RFC 6066)
    if (s.verify_hostname) {
      // The certificate must name the host (a DNS name, wildcards only whole-label) or the address.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int set = is_address ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                                 : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      if (set != 1) {
        result = std::unexpected("cannot verify the broker's name '" + name + "'");
        co_return result;
      }
    }
    auto hec = co_await stream.tls_handshake();
    if (hec) {
      result = std::unexpected("TLS handshake failed: " + describe_tls_error(hec));
      co_return result;
    }
  }
  if (cfg_->upstream_sasl) {
    try {
      result = co_await sasl_login(stream);
    } catch (const std::exception& e) {
      result = std::unexpected(std::string("SASL login failed: ") + e.what());
    }
  }
  co_return result;
}

awaitable<upstream_connector::connected> upstream_connector::sasl_login(byte_stream& stream) const {
  connected result;
  const auto& sasl = *cfg_->upstream_sasl;
  std::int32_t corr = 0;
  {
    proto::sasl_handshake_request req;
    req.mechanism = sasl.mechanism;
    const auto answer = co_await ask<proto::sasl_handshake_response>(stream, req, handshake_version, ++corr);
    if (answer.msg.error_code != 0) {
      std::string offered;
      for (auto m : answer.msg.mechanisms) offered += (offered.empty() ? "" : ", ") + std::string(m);
      result = std::unexpected("the broker does not accept " + sasl.mechanism + " (error " +
                               std::to_string(answer.msg.error_code) + "; it offers: " + offered + ")");
      co_return result;
    }
  }
  // One SaslAuthenticate round trip; returns the server's bytes or throws with its message.
  auto round = [&](std::string token) -> awaitable<std::string> {
    proto::sasl_authenticate_request req;
    req.auth_bytes = proto::bytes_view(reinterpret_cast<const std::byte*>(token.data()), token.size());
    const auto answer = co_await ask<proto::sasl_authenticate_response>(stream, req, authenticate_version, ++corr);
    const auto& resp = answer.msg;
    if (resp.error_code != 0)
      throw std::runtime_error("the broker refused the gateway's credentials (error " + std::to_string(resp.error_code) +
                               (resp.error_message ? ": " + std::string(*resp.error_message) : std::string()) + ")");
    if (resp.session_lifetime_ms > 0)
      log::upstream().debug("upstream SASL session lifetime {} ms: the broker will close the connection then",
                    resp.session_lifetime_ms);
    co_return std::string(reinterpret_cast<const char*>(resp.auth_bytes.data()), resp.auth_bytes.size());
  };

  if (sasl.mechanism == "PLAIN") {
    co_await round(security::make_plain_message(sasl.username, sasl.password));
    co_return result;
  }
  const auto mech = security::scram_mechanism_from_name(sasl.mechanism);
  if (!mech) {
    result = std::unexpected("unsupported upstream SASL mechanism " + sasl.mechanism);
    co_return result;
  }
  security::scram_client client(*mech, sasl.username, sasl.password);
  const std::string server_first = co_await round(client.first_message());
  auto final_msg = client.final_message(server_first);
  if (!final_msg) {
    result = std::unexpected("SCRAM: " + final_msg.error());
    co_return result;
  }
  const std::string server_final = co_await round(*final_msg);
  if (auto ok = client.verify_server_final(server_final); !ok) result = std::unexpected("SCRAM: " + ok.error());
  co_return result;
}

}  // namespace kgw::gateway

#include "gateway/admin_server.h"

// g++ 12 flags Asio's coroutine frame allocator as a mismatched new/delete pair when it inlines
// a coroutine's frame deallocation (a known false positive with C++20 coroutines).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <openssl/crypto.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <stdexcept>
#include <thread>

#include "gateway/logging.h"
#include "gateway/tls_context.h"

namespace kgw::gateway {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A scrape or probe that takes longer than this is not one: the connection goes.
constexpr auto request_timeout = std::chrono::seconds(10);
constexpr std::size_t max_header_bytes = 8 * 1024;
constexpr std::size_t max_body_bytes = 1024;  // GET carries none; anything more is not ours

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

struct admin_server::impl {
  config::admin_settings settings;
  std::function<std::string()> metrics;
  readiness ready;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::shared_ptr<asio::ssl::context> tls;
  std::thread thread;
  std::atomic<bool> stopped{false};

  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "kafka-gateway");
    auto reply = [&](http::status status, std::string body, std::string_view type = "text/plain; charset=utf-8") {
      res.result(status);
      res.set(http::field::content_type, type);
      res.body() = std::move(body);
    };
    if (!settings.bearer_token.empty()) {
      const auto auth = req[http::field::authorization];
      constexpr std::string_view scheme = "Bearer ";
      if (!auth.starts_with(scheme) || !same_secret(auth.substr(scheme.size()), settings.bearer_token)) {
        reply(http::status::unauthorized, "a bearer token is required\n");
        res.set(http::field::www_authenticate, "Bearer");
        res.prepare_payload();
        return res;
      }
    }
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      reply(http::status::method_not_allowed, "only GET\n");
      res.set(http::field::allow, "GET, HEAD");
    } else if (path == "/metrics") {
      reply(http::status::ok, metrics(), "text/plain; version=0.0.4; charset=utf-8");
    } else if (path == "/healthz") {
      reply(http::status::ok, "ok\n");
    } else if (path == "/readyz") {
      if (auto why = ready()) reply(http::status::service_unavailable, "not ready: " + *why + "\n");
      else reply(http::status::ok, "ready\n");
    } else {
      reply(http::status::not_found, "not found; try /metrics, /healthz or /readyz\n");
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();  // the length stays the GET's
    return res;
  }

  // Requests on one connection, in order, until it closes, misbehaves or times out.
  template <class Stream>
  awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buf;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(max_header_bytes);
      parser.body_limit(max_body_bytes);
      beast::get_lowest_layer(stream).expires_after(request_timeout);
      auto [ec, n] = co_await http::async_read(stream, buf, parser, use_tuple);
      if (ec) {
        if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::operation_aborted)
          log::admin().debug("admin: bad request: {}", ec.message());
        co_return;
      }
      auto res = answer(parser.get());
      beast::get_lowest_layer(stream).expires_after(request_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  awaitable<void> connection(tcp::socket sock) {
    beast::tcp_stream plain(std::move(sock));
    if (!tls) {
      co_await serve(plain);
      boost::system::error_code ec;
      plain.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> secure(std::move(plain), *tls);
    beast::get_lowest_layer(secure).expires_after(request_timeout);
    auto [ec] = co_await secure.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec) {
      log::admin().debug("admin: TLS handshake failed: {}", ec.message());
      co_return;
    }
    co_await serve(secure);
    beast::get_lowest_layer(secure).expires_after(std::chrono::seconds(2));
    co_await secure.async_shutdown(use_tuple);
  }

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: back off instead of spinning.
        asio::steady_timer t(io, std::chrono::milliseconds(100));
        co_await t.async_wait(use_tuple);
        continue;
      }
      asio::co_spawn(io, connection(std::move(sock)), asio::detached);
    }
  }
};

admin_server::admin_server(config::admin_settings settings, std::function<std::string()> metrics, readiness ready)
    : impl_(std::make_unique<impl>()) {
  impl_->settings = std::move(settings);
  impl_->metrics = std::move(metrics);
  impl_->ready = std::move(ready);
}

admin_server::~admin_server() { stop(); }

void admin_server::start() {
  auto& m = *impl_;
  const auto& at = m.settings.listen;
  if (m.settings.tls) m.tls = make_server_tls_context(*m.settings.tls, "admin tls");
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(at.host, ec);
  if (ec) throw std::runtime_error("admin.listen: invalid address " + at.host + ": " + ec.message());
  const tcp::endpoint ep(addr, at.port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("admin.listen: cannot listen on " + at.str() + ": " + ec.message());
  asio::co_spawn(m.io, m.accept_loop(), asio::detached);
  m.thread = std::thread([&m] { m.io.run(); });
  log::admin().info("admin listener on {}:{} ({}{}): /metrics, /healthz, /readyz", at.host, port(),
               m.tls ? "HTTPS" : "HTTP", m.settings.bearer_token.empty() ? "" : ", bearer token required");
}

void admin_server::stop() {
  auto& m = *impl_;
  if (m.stopped.exchange(true)) return;
  m.io.stop();
  if (m.thread.joinable()) m.thread.join();
}

std::uint16_t admin_server::port() const {
  boost::system::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace kgw::gateway

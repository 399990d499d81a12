#pragma once
// A connection's byte stream: a TCP socket, optionally wrapped in TLS once connected. It is an
// Asio AsyncReadStream/AsyncWriteStream, so asio::async_write and friends work on it, and the
// relay code is the same for both; only splice(2) needs the plain socket (tls() == false).
// Threading: like the socket, used from its worker's thread only.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>

namespace kgw::gateway {

class byte_stream {
 public:
  using tcp = boost::asio::ip::tcp;
  using executor_type = tcp::socket::executor_type;

  explicit byte_stream(tcp::socket s) : sock_(std::move(s)) {}
  byte_stream(const byte_stream&) = delete;
  byte_stream& operator=(const byte_stream&) = delete;

  // Layers TLS over the (connected) socket; the handshake is the caller's.
  void enable_tls(boost::asio::ssl::context& ctx) { tls_ = std::make_unique<tls_stream>(sock_, ctx); }
  bool tls() const { return tls_ != nullptr; }
  boost::asio::ssl::stream<tcp::socket&>& tls_stream_ref() { return *tls_; }

  tcp::socket& socket() { return sock_; }
  executor_type get_executor() { return sock_.get_executor(); }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    if (tls_) return tls_->async_read_some(b, std::forward<Token>(token));
    return sock_.async_read_some(b, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& b, Token&& token) {
    if (tls_) return tls_->async_write_some(b, std::forward<Token>(token));
    return sock_.async_write_some(b, std::forward<Token>(token));
  }

  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
  }

 private:
  using tls_stream = boost::asio::ssl::stream<tcp::socket&>;
  tcp::socket sock_;
  std::unique_ptr<tls_stream> tls_;  // refers to sock_
};

}  // namespace kgw::gateway

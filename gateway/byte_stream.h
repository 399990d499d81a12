#pragma once
// A connection's byte stream: a TCP socket, optionally wrapped in TLS once connected. It is an
// Asio AsyncReadStream/AsyncWriteStream, so asio::async_write and friends work on it, and the
// relay code is the same for both; only splice(2) needs the plain socket (tls() == false).
// Threading: like the socket, used from its worker's thread only.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstddef>
#include <limits>
#include <memory>
#include <tuple>

namespace kgw::gateway {

class frame_buffer;

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
  // Reads into `b` what completes `want` bytes (b.prepare(want); at most `cap` bytes) and commits
  // them: async_read_some, except that an idle plain connection holds no read buffer. With
  // nothing buffered it first takes what has already arrived (a non-blocking read); when nothing
  // has, `b` gives its memory back and the read waits for readability (that read found the
  // socket empty, so the next arrival wakes the reactor), then reads. The system calls are those
  // of async_read_some (a speculative read, the reactor's wait, the read); 10,000 idle clients
  // then hold no 64 KiB buffer each. TLS streams read as before: their TLS layer may hold
  // decrypted bytes the socket no longer shows. `slot` (if connected) cancels the wait or read;
  // otherwise the coroutine's own cancellation does (awaitable operators).
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_into(
      frame_buffer& b, std::size_t want, std::size_t cap = std::numeric_limits<std::size_t>::max(),
      boost::asio::cancellation_slot slot = {});
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
  bool user_non_blocking_ = false;   // read_into's speculative read must not block
};

}  // namespace kgw::gateway

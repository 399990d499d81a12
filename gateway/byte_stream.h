#pragma once
// A connection's byte stream: a TCP socket, optionally wrapped in TLS once connected
// (tls_channel). The relay code is the same for both; only splice(2) needs the plain socket
// (tls() == false).
// Threading: like the socket, used from its worker's thread only; one read and one write may be
// in progress at once.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <tuple>

struct ssl_st;

namespace boost::asio::ssl {
class context;
}

namespace kgw::gateway {

class frame_buffer;
class tls_channel;

class byte_stream {
 public:
  using tcp = boost::asio::ip::tcp;
  using executor_type = tcp::socket::executor_type;
  using result = std::tuple<boost::system::error_code, std::size_t>;
  enum class tls_role { client, server };

  explicit byte_stream(tcp::socket s);
  ~byte_stream();
  byte_stream(const byte_stream&) = delete;
  byte_stream& operator=(const byte_stream&) = delete;

  // Layers TLS over the (connected) socket; tls_handshake() runs the handshake. Throws
  // std::runtime_error if OpenSSL cannot create the connection.
  void enable_tls(boost::asio::ssl::context& ctx, tls_role role);
  bool tls() const { return tls_ != nullptr; }
  // For SNI, peer verification settings and the peer's certificate (tls() only).
  ssl_st* tls_handle() const;
  // Errors in Asio's SSL category (describe_tls_error reads them).
  boost::asio::awaitable<boost::system::error_code> tls_handshake();

  tcp::socket& socket() { return sock_; }
  executor_type get_executor() { return sock_.get_executor(); }

  // Reads into `b` what completes `want` bytes (b.prepare(want); at most `cap` bytes) and commits
  // them: at least one byte, or an error. An idle connection holds no read buffer: with nothing
  // buffered it first takes what has already arrived (a non-blocking read); when nothing has,
  // `b` gives its memory back and the read waits for readability (that read found the socket
  // empty, so the next arrival wakes the reactor), then reads. The system calls are those of
  // async_read_some (a speculative read, the reactor's wait, the read); 10,000 idle clients then
  // hold no 64 KiB buffer each. TLS does the same with its ciphertext buffer. `slot` (if
  // connected) cancels the wait; otherwise the coroutine's own cancellation does (awaitable
  // operators).
  boost::asio::awaitable<result> read_into(frame_buffer& b, std::size_t want,
                                           std::size_t cap = std::numeric_limits<std::size_t>::max(),
                                           boost::asio::cancellation_slot slot = {});
  // Reads exactly the size of `b`.
  boost::asio::awaitable<result> read_exact(boost::asio::mutable_buffer b);
  // Writes all of `buffers`: gathered into as few sendmsg calls as IOV_MAX allows, or into TLS
  // records.
  boost::asio::awaitable<result> write(std::span<const boost::asio::const_buffer> buffers);
  boost::asio::awaitable<result> write(boost::asio::const_buffer b);

  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
  }

 private:
  boost::asio::awaitable<result> plain_read_into(frame_buffer& b, std::size_t want, std::size_t cap,
                                                 boost::asio::cancellation_slot slot);
  boost::asio::awaitable<result> plain_write(std::span<const boost::asio::const_buffer> buffers);

  tcp::socket sock_;
  std::unique_ptr<tls_channel> tls_;  // refers to sock_
  bool user_non_blocking_ = false;    // read_into's speculative read must not block
};

}  // namespace kgw::gateway

#pragma once
// TLS over a connected TCP socket, with OpenSSL reading ciphertext from and writing it to memory
// this class owns (a BIO of our own), in place of Asio's ssl::stream.
//
// Why: ssl::stream moves ciphertext through a 17 KiB BIO pair and two 17 KiB buffers of its own.
// Every TLS record (16 KiB) became its own send(), every 17 KiB its own recv(), and an idle
// connection held four such buffers (89 KB per idle TLS client, measured). Here a write encrypts
// up to 256 KiB of records before one send(), a read takes up to 64 KiB of ciphertext per
// recv(), and a waiting connection gives its buffers back (OpenSSL's own record buffers too:
// SSL_MODE_RELEASE_BUFFERS). Kernel TLS would also let splice(2) work; where the kernel has no
// `tls` ULP (tls_available() says) this is the path.
//
// Threading: one worker thread. One read and one write may be in progress at once (a session
// reads requests while it writes responses) and share the SSL object: every OpenSSL call runs to
// completion on that thread, only socket waits suspend. Ciphertext goes out in the order OpenSSL
// produced it, whichever side produced it (a read may produce an alert or a KeyUpdate answer).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <span>
#include <string>

#include "gateway/frame_buffer.h"

struct ssl_st;
struct ssl_ctx_st;

namespace kgw::gateway {

class tls_channel {
 public:
  using tcp = boost::asio::ip::tcp;
  enum class role { client, server };

  // `sock` must outlive the channel. Throws std::runtime_error if OpenSSL cannot make the SSL.
  tls_channel(tcp::socket& sock, ssl_ctx_st* ctx, role r);
  ~tls_channel();
  tls_channel(const tls_channel&) = delete;
  tls_channel& operator=(const tls_channel&) = delete;

  ssl_st* native_handle() const { return ssl_; }

  // Runs the handshake. Errors are in Asio's SSL category (describe_tls_error reads them);
  // the peer leaving mid-handshake is ssl::error::stream_truncated.
  boost::asio::awaitable<boost::system::error_code> handshake();

  // byte_stream::read_into over TLS: decrypts into `b` what completes `want` bytes (at most
  // `cap`), at least one byte or an error. While it waits for the socket it holds no buffer
  // (neither its own nor `b`'s, if empty).
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_into(
      frame_buffer& b, std::size_t want, std::size_t cap, boost::asio::cancellation_slot slot);

  // Ciphertext or decrypted bytes are waiting: decrypt() may return data without a receive().
  bool has_buffered() const;
  // Decrypts buffered records into `dst` (as many as fit). 0 and no error: a whole record needs
  // more ciphertext (receive()). Errors: asio::error::eof after the peer's close_notify, the SSL
  // category for a bad record. Ciphertext OpenSSL wants to send in reply is queued; the caller
  // sends it with flush_queued().
  std::size_t decrypt(std::span<std::byte> dst, boost::system::error_code& ec);
  // Reads more ciphertext from the socket: what has arrived, else it waits for more. Before a
  // wait, it gives back its own buffer and `idle`'s (if set and empty), so a waiting connection
  // holds neither. eof: the socket closed where no record had begun; stream_truncated: mid-record.
  boost::asio::awaitable<boost::system::error_code> receive(frame_buffer* idle, boost::asio::cancellation_slot slot);
  // Sends ciphertext a decrypt() queued, unless a write is sending (it sends it then).
  bool output_queued() const { return !out_.empty(); }
  boost::asio::awaitable<boost::system::error_code> flush_queued();

  // Encrypts and sends all of `buffers`. Pieces under 4 KiB are gathered into one record,
  // larger ones are records of their own; up to 256 KiB of records go out per send().
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write(
      std::span<const boost::asio::const_buffer> buffers);

  // Appends ciphertext (the BIO's write side) / hands out received ciphertext (its read side).
  void bio_append(const void* data, std::size_t n);
  std::size_t bio_take(void* out, std::size_t n);

 private:
  // Sends the queued ciphertext; a second sender waits until the first is done (wait) or leaves
  // it to the first (!wait).
  boost::asio::awaitable<boost::system::error_code> flush(bool wait);
  void encrypt(const void* data, std::size_t n);  // appends records to out_; errors to write_error_
  boost::system::error_code failure(int ssl_result);
  // Reads what has arrived into in_ (would_block: nothing has); eof as receive() says.
  boost::system::error_code read_available();

  tcp::socket& sock_;
  ssl_st* ssl_ = nullptr;
  frame_buffer in_;               // ciphertext received, not yet read by OpenSSL
  byte_buffer out_;               // ciphertext produced, not yet handed to send()
  byte_buffer sending_buf_;       // ciphertext a send() is writing
  byte_buffer stage_;             // small plaintext pieces gathered into one record
  bool sending_ = false;
  boost::system::error_code write_error_;  // sticky: once a send or encryption failed
  boost::asio::steady_timer send_done_;    // wakes a writer waiting for the reader's send
};

// Whether this kernel offers kernel TLS (the `tls` upper-layer protocol), and a sentence for
// the listener's log line that says which TLS path it uses and why.
bool kernel_tls_available();
std::string tls_path_description();

}  // namespace kgw::gateway

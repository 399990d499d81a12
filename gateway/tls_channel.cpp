#include "gateway/tls_channel.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace kgw::gateway {
namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t small_piece = 4 * 1024;   // gathered with its neighbours into one record
constexpr std::size_t record_size = 16 * 1024;  // TLS's largest plaintext record
constexpr std::size_t send_batch = 256 * 1024;  // ciphertext per send()

// Ciphertext room for n bytes of plaintext: per record a header, an explicit nonce (TLS 1.2
// GCM), a tag, TLS 1.3's content type; 64 bytes covers each.
std::size_t sealed_size(std::size_t n) { return n + (n / record_size + 2) * 64; }

// The BIO OpenSSL reads ciphertext from and writes it to: the channel's own memory.
int bio_write_ex(BIO* b, const char* in, std::size_t n, std::size_t* written) {
  static_cast<tls_channel*>(BIO_get_data(b))->bio_append(in, n);
  *written = n;
  return 1;
}
int bio_read_ex(BIO* b, char* out, std::size_t n, std::size_t* got) {
  BIO_clear_retry_flags(b);
  *got = static_cast<tls_channel*>(BIO_get_data(b))->bio_take(out, n);
  if (*got > 0) return 1;
  BIO_set_retry_read(b);  // not an end: the channel reads the socket, then OpenSSL goes on
  return 0;
}
long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}
BIO_METHOD* memory_bio_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "kafka-gateway tls_channel");
    if (!bm || BIO_meth_set_write_ex(bm, bio_write_ex) != 1 || BIO_meth_set_read_ex(bm, bio_read_ex) != 1 ||
        BIO_meth_set_ctrl(bm, bio_ctrl) != 1 || BIO_meth_set_create(bm, bio_create) != 1)
      throw std::runtime_error("OpenSSL cannot make a BIO method");
    return bm;
  }();
  return m;
}

// Plaintext pieces gathered into one record. Never holds bytes across a suspension, so one per
// thread serves every channel of the thread.
byte_buffer& stage() {
  thread_local byte_buffer s;
  return s;
}

}  // namespace

tls_channel::tls_channel(tcp::socket& sock, ssl_ctx_st* ctx, role r) : sock_(sock), send_done_(sock.get_executor()) {
  ssl_ = SSL_new(ctx);
  BIO* bio = ssl_ ? BIO_new(memory_bio_method()) : nullptr;
  if (!bio) {
    SSL_free(ssl_);
    throw std::runtime_error("OpenSSL cannot create a TLS connection");
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);
  // Idle connections give OpenSSL's record buffers back. No partial writes: our BIO takes all.
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  if (r == role::server)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
  error_code ec;
  sock_.non_blocking(true, ec);  // receive() reads what has arrived without blocking
}

tls_channel::~tls_channel() {
  SSL_free(ssl_);
  spare_buffers().give(std::move(out_));
  spare_buffers().give(std::move(sending_buf_));
}

void tls_channel::bio_append(const void* data, std::size_t n) {
  if (out_.capacity() == 0) out_ = spare_buffers().take(sealed_size(n));
  const auto* p = static_cast<const std::byte*>(data);
  out_.insert(out_.end(), p, p + n);
}

std::size_t tls_channel::bio_take(void* out, std::size_t n) {
  const auto d = in_.data();
  n = std::min(n, d.size());
  if (n == 0) return 0;
  std::memcpy(out, d.data(), n);
  in_.consume(n);
  return n;
}

error_code tls_channel::failure(int ssl_result) {
  const int e = SSL_get_error(ssl_, ssl_result);
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (e == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // the peer's close_notify
  if (err != 0) return {static_cast<int>(err), asio::error::get_ssl_category()};
  if (e == SSL_ERROR_SYSCALL) return asio::ssl::error::stream_truncated;
  return make_error_code(boost::system::errc::protocol_error);
}

bool tls_channel::has_buffered() const { return !in_.data().empty() || SSL_has_pending(ssl_) == 1; }

asio::awaitable<error_code> tls_channel::handshake() {
  for (;;) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      in_.release();  // unless the peer's first records came with its last handshake message
      co_return co_await flush(true);
    }
    if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ) {
      const error_code ec = failure(r);
      co_await flush(true);  // the alert, so that the peer learns why
      co_return ec == asio::error::eof ? error_code(asio::ssl::error::stream_truncated) : ec;
    }
    if (auto ec = co_await flush(true)) co_return ec;
    if (auto ec = co_await receive(nullptr, {}))
      co_return ec == asio::error::eof ? error_code(asio::ssl::error::stream_truncated) : ec;
  }
}

std::size_t tls_channel::decrypt(std::span<std::byte> dst, error_code& ec) {
  std::size_t total = 0;
  while (total < dst.size()) {
    ERR_clear_error();
    std::size_t got = 0;
    const int r = SSL_read_ex(ssl_, dst.data() + total, dst.size() - total, &got);
    if (r == 1) {
      total += got;
      continue;
    }
    if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) break;
    const error_code failed = failure(r);
    if (total == 0) ec = failed;  // else the data first; the next call fails again
    break;
  }
  return total;
}

error_code tls_channel::read_available() {
  const auto space = in_.prepare(frame_buffer::min_read);
  error_code ec;
  const std::size_t n = sock_.read_some(asio::buffer(space.data(), space.size()), ec);
  if (!ec) in_.commit(n);
  if (ec == asio::error::eof && has_buffered()) ec = asio::ssl::error::stream_truncated;
  if (ec == asio::error::try_again) ec = asio::error::would_block;
  return ec;
}

asio::awaitable<error_code> tls_channel::receive(frame_buffer* idle, asio::cancellation_slot slot) {
  if (!slot.is_connected()) slot = (co_await asio::this_coro::cancellation_state).slot();
  for (;;) {
    const error_code ec = read_available();
    if (ec != asio::error::would_block) co_return ec;
    in_.release();
    if (idle) idle->release();
    auto [waited] = co_await sock_.async_wait(tcp::socket::wait_read, asio::bind_cancellation_slot(slot, use_tuple));
    if (waited) co_return waited;
  }
}

// receive() written out, rather than awaited: a waiting connection then holds one coroutine
// frame for its read, not two.
asio::awaitable<std::tuple<error_code, std::size_t>> tls_channel::read_into(frame_buffer& b, std::size_t want,
                                                                             std::size_t cap,
                                                                             asio::cancellation_slot slot) {
  if (!slot.is_connected()) slot = (co_await asio::this_coro::cancellation_state).slot();
  for (;;) {
    if (has_buffered()) {
      const auto space = b.prepare(want);
      error_code ec;
      const std::size_t n = decrypt(space.first(std::min(space.size(), cap)), ec);
      // What OpenSSL answered while reading (an alert, a KeyUpdate) goes out first.
      if (!out_.empty())
        if (auto sent = co_await flush(false); sent && !ec && n == 0) ec = sent;
      if (ec) co_return std::tuple{ec, std::size_t{0}};
      if (n > 0) {
        b.commit(n);
        co_return std::tuple{ec, n};
      }
    }
    const error_code ec = read_available();
    if (!ec) continue;
    if (ec != asio::error::would_block) co_return std::tuple{ec, std::size_t{0}};
    in_.release();
    b.release();
    auto [waited] = co_await sock_.async_wait(tcp::socket::wait_read, asio::bind_cancellation_slot(slot, use_tuple));
    if (waited) co_return std::tuple{waited, std::size_t{0}};
  }
}

asio::awaitable<error_code> tls_channel::flush_queued() {
  if (out_.empty()) co_return error_code{};
  co_return co_await flush(false);
}

asio::awaitable<error_code> tls_channel::flush(bool wait) {
  if (sending_) {
    if (!wait) co_return write_error_;  // the sender sends what was queued meanwhile too
    while (sending_) {
      send_done_.expires_at(asio::steady_timer::time_point::max());
      co_await send_done_.async_wait(use_tuple);
    }
  }
  sending_ = true;
  while (!out_.empty() && !write_error_) {
    std::swap(out_, sending_buf_);
    auto [ec, n] = co_await asio::async_write(sock_, asio::buffer(sending_buf_.data(), sending_buf_.size()), use_tuple);
    if (ec) write_error_ = ec;
    sending_buf_.clear();
  }
  // An idle connection holds no send buffers.
  spare_buffers().give(std::move(sending_buf_));
  byte_buffer().swap(sending_buf_);
  if (out_.empty()) {
    spare_buffers().give(std::move(out_));
    byte_buffer().swap(out_);
  }
  sending_ = false;
  send_done_.cancel();
  co_return write_error_;
}

void tls_channel::encrypt(const void* data, std::size_t n) {
  if (n == 0 || write_error_) return;
  if (out_.capacity() - out_.size() < sealed_size(n)) {
    if (out_.capacity() == 0) out_ = spare_buffers().take(sealed_size(n));
    out_.reserve(out_.size() + sealed_size(n));
  }
  ERR_clear_error();
  std::size_t written = 0;
  const int r = SSL_write_ex(ssl_, data, n, &written);
  if (r != 1) write_error_ = failure(r);
}

asio::awaitable<std::tuple<error_code, std::size_t>> tls_channel::write(std::span<const asio::const_buffer> buffers) {
  auto& st = stage();
  const auto seal_stage = [&] {
    encrypt(st.data(), st.size());
    st.clear();
  };
  std::size_t total = 0;
  for (const auto& b : buffers) {
    const auto* p = static_cast<const std::byte*>(b.data());
    std::size_t n = b.size();
    total += n;
    if (n < small_piece) {
      if (st.size() + n > record_size) seal_stage();
      st.insert(st.end(), p, p + n);
      continue;
    }
    seal_stage();
    while (n > 0) {
      const std::size_t k = std::min(n, send_batch);
      encrypt(p, k);
      p += k;
      n -= k;
      if (out_.size() >= send_batch)
        if (auto ec = co_await flush(true)) co_return std::tuple{ec, std::size_t{0}};
    }
  }
  seal_stage();
  if (auto ec = co_await flush(true)) co_return std::tuple{ec, std::size_t{0}};
  co_return std::tuple{error_code{}, total};
}

bool kernel_tls_available() {
  std::ifstream f("/proc/sys/net/ipv4/tcp_available_ulp");
  std::string ulp;
  while (f >> ulp)
    if (ulp == "tls") return true;
  return false;
}

std::string tls_path_description() {
  std::string s =
      "TLS in user space (OpenSSL over the gateway's own buffers: up to 256 KiB of records per send, 64 KiB per "
      "receive); kernel TLS: ";
  s += kernel_tls_available() ? "offered by this kernel, not used by this build"
                              : "not offered by this kernel (no tls in net.ipv4.tcp_available_ulp)";
  return s;
}

}  // namespace kgw::gateway

#include "gateway/byte_stream.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/frame_buffer.h"
#include "gateway/tls_channel.h"

namespace kgw::gateway {
namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

byte_stream::byte_stream(tcp::socket s) : sock_(std::move(s)) {}
byte_stream::~byte_stream() = default;

void byte_stream::enable_tls(asio::ssl::context& ctx, tls_role role) {
  tls_ = std::make_unique<tls_channel>(
      sock_, ctx.native_handle(), role == tls_role::server ? tls_channel::role::server : tls_channel::role::client);
}

ssl_st* byte_stream::tls_handle() const { return tls_ ? tls_->native_handle() : nullptr; }

asio::awaitable<error_code> byte_stream::tls_handshake() { return tls_->handshake(); }

// Not a coroutine itself: the read waiting on an idle connection is one coroutine frame.
asio::awaitable<byte_stream::result> byte_stream::read_into(frame_buffer& b, std::size_t want, std::size_t cap,
                                                            asio::cancellation_slot slot) {
  if (tls_) return tls_->read_into(b, want, cap, slot);
  return plain_read_into(b, want, cap, slot);
}

asio::awaitable<byte_stream::result> byte_stream::plain_read_into(frame_buffer& b, std::size_t want, std::size_t cap,
                                                                  asio::cancellation_slot slot) {
  if (!slot.is_connected()) slot = (co_await asio::this_coro::cancellation_state).slot();
  if (b.data().empty()) {
    error_code ec;
    if (!user_non_blocking_) {
      sock_.non_blocking(true, ec);
      if (ec) co_return result{ec, 0};
      user_non_blocking_ = true;
    }
    for (;;) {
      const auto space = b.prepare(want);
      const std::size_t n = sock_.read_some(asio::buffer(space.data(), std::min(space.size(), cap)), ec);
      if (!ec) {
        b.commit(n);
        co_return result{ec, n};
      }
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return result{ec, 0};
      b.release();
      auto [waited] = co_await sock_.async_wait(tcp::socket::wait_read, asio::bind_cancellation_slot(slot, use_tuple));
      if (waited) co_return result{waited, 0};
    }
  }
  const auto space = b.prepare(want);
  auto [ec, n] = co_await sock_.async_read_some(asio::buffer(space.data(), std::min(space.size(), cap)),
                                                asio::bind_cancellation_slot(slot, use_tuple));
  if (!ec) b.commit(n);
  co_return result{ec, n};
}

asio::awaitable<byte_stream::result> byte_stream::read_exact(asio::mutable_buffer b) {
  if (!tls_) co_return co_await asio::async_read(sock_, b, use_tuple);
  auto* p = static_cast<std::byte*>(b.data());
  std::size_t got = 0;
  while (got < b.size()) {
    error_code ec;
    if (tls_->has_buffered()) {
      got += tls_->decrypt({p + got, b.size() - got}, ec);
      if (tls_->output_queued())
        if (auto fec = co_await tls_->flush_queued(); fec && !ec) ec = fec;
      if (ec) co_return result{ec, got};
      if (got == b.size()) break;
    }
    if ((ec = co_await tls_->receive(nullptr, {}))) co_return result{ec, got};
  }
  co_return result{error_code{}, got};
}

asio::awaitable<byte_stream::result> byte_stream::write(std::span<const asio::const_buffer> buffers) {
  if (tls_) co_return co_await tls_->write(buffers);
  co_return co_await plain_write(buffers);
}

// Asio's write hands the kernel at most 64 pieces per call; a governed Fetch response of many
// partitions is a few hundred (each partition's header, then its records), so it left in several
// sendmsg calls, each a loopback delivery and a wake-up of the reader. Here one call takes up to
// IOV_MAX pieces; the socket is in non-blocking mode, and a full send buffer waits for
// writability through the reactor.
asio::awaitable<byte_stream::result> byte_stream::plain_write(std::span<const asio::const_buffer> buffers) {
  constexpr std::size_t iov_max = 1024;  // Linux UIO_MAXIOV
  error_code ec;
  if (!sock_.non_blocking() && (sock_.non_blocking(true, ec), ec)) co_return result{ec, 0};
  std::size_t done = 0;
  std::size_t first = 0, offset = 0;  // the next piece, and how much of it was written
  std::array<iovec, 64> small;
  std::vector<iovec> large;
  std::span<iovec> iov = small;
  if (buffers.size() > small.size()) {
    large.resize(std::min(buffers.size(), iov_max));
    iov = large;
  }
  for (;;) {
    while (first < buffers.size() && buffers[first].size() == offset) ++first, offset = 0;
    if (first == buffers.size()) break;
    std::size_t n = 0;
    for (std::size_t i = first; i < buffers.size() && n < iov.size(); ++i) {
      const std::size_t skip = i == first ? offset : 0;
      if (buffers[i].size() == skip) continue;
      iov[n++] = {const_cast<char*>(static_cast<const char*>(buffers[i].data())) + skip, buffers[i].size() - skip};
    }
    msghdr m{};
    m.msg_iov = iov.data();
    m.msg_iovlen = n;
    const ssize_t w = ::sendmsg(sock_.native_handle(), &m, MSG_NOSIGNAL);
    if (w <= 0) {  // 0 only with nothing to send, which the pieces exclude: wait, never spin
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        co_return result{error_code(errno, boost::system::system_category()), done};
      auto [wec] = co_await sock_.async_wait(tcp::socket::wait_write, use_tuple);
      if (wec) co_return result{wec, done};
      continue;
    }
    done += static_cast<std::size_t>(w);
    for (auto left = static_cast<std::size_t>(w); left > 0;) {
      const std::size_t here = std::min(left, buffers[first].size() - offset);
      left -= here;
      offset += here;
      if (offset == buffers[first].size()) ++first, offset = 0;
    }
  }
  co_return result{error_code{}, done};
}

asio::awaitable<byte_stream::result> byte_stream::write(asio::const_buffer b) {
  co_return co_await write(std::span<const asio::const_buffer>(&b, 1));
}

}  // namespace kgw::gateway

#include "gateway/splice_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

namespace kgw::gateway {
namespace asio = boost::asio;
using asio::ip::tcp;

splice_relay::~splice_relay() {
  if (read_end_ >= 0) ::close(read_end_);
  if (write_end_ >= 0) ::close(write_end_);
}

bool splice_relay::open() {
  if (read_end_ >= 0) return true;
  if (failed_) return false;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    failed_ = true;
    return false;
  }
  read_end_ = fds[0];
  write_end_ = fds[1];
  const int size = ::fcntl(write_end_, F_SETPIPE_SZ, 1 << 20);
  capacity_ = size > 0 ? static_cast<std::size_t>(size) : 64 * 1024;
  return true;
}

asio::awaitable<splice_relay::outcome> splice_relay::move(tcp::socket& upstream, tcp::socket& client,
                                                          std::size_t& left, const std::string& upstream_name,
                                                          counters c, direction dir) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  const bool to_client = dir == direction::to_client;
  tcp::socket& source = to_client ? upstream : client;
  tcp::socket& sink = to_client ? client : upstream;
  const int from = source.native_handle(), to = sink.native_handle();
  // A broker that fails is worth a warning; a client that leaves mid-frame is not.
  const auto source_failed = [&](std::string what) {
    return to_client ? outcome{false, "upstream " + upstream_name + " " + what, true}
                     : outcome{false, "client " + what + " in the middle of a request", false};
  };
  const auto sink_failed = [&](std::string what) {
    return to_client ? outcome{false, "client write failed: " + what, false}
                     : outcome{false, "upstream " + upstream_name + " write failed: " + what, true};
  };
  while (left > 0) {
    const ssize_t n =
        ::splice(from, nullptr, write_end_, nullptr, std::min(left, capacity_), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) co_return source_failed("closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) co_return source_failed(std::string("read failed: ") + std::strerror(errno));
      auto [ec] = co_await source.async_wait(tcp::socket::wait_read, use_tuple);
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return outcome{false, {}, false};
        co_return source_failed("wait failed: " + ec.message());
      }
      continue;
    }
    left -= static_cast<std::size_t>(n);
    c.last_activity = std::chrono::steady_clock::now();
    for (std::size_t in_pipe = static_cast<std::size_t>(n); in_pipe > 0;) {
      const ssize_t m = ::splice(read_end_, nullptr, to, nullptr, in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0 && errno == EAGAIN) {
        auto [ec] = co_await sink.async_wait(tcp::socket::wait_write, use_tuple);
        if (ec) co_return outcome{false, {}, false};
        continue;
      }
      if (m <= 0) co_return sink_failed(m < 0 ? std::strerror(errno) : "closed");
      in_pipe -= static_cast<std::size_t>(m);
      c.bytes += static_cast<std::size_t>(m);
      c.spliced.fetch_add(static_cast<std::uint64_t>(m), std::memory_order_relaxed);
    }
  }
  co_return outcome{};
}

}  // namespace kgw::gateway

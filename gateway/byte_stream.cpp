#include "gateway/byte_stream.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/frame_buffer.h"

namespace kgw::gateway {
namespace asio = boost::asio;

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> byte_stream::read_into(
    frame_buffer& b, std::size_t want, std::size_t cap, asio::cancellation_slot slot) {
  if (!slot.is_connected()) slot = (co_await asio::this_coro::cancellation_state).slot();
  auto token = [&slot] { return asio::bind_cancellation_slot(slot, asio::as_tuple(asio::use_awaitable)); };
  if (!tls_ && b.data().empty()) {
    boost::system::error_code ec;
    if (!user_non_blocking_) {
      sock_.non_blocking(true, ec);
      if (ec) co_return std::tuple{ec, std::size_t{0}};
      user_non_blocking_ = true;
    }
    for (;;) {
      const auto space = b.prepare(want);
      const std::size_t n = sock_.read_some(asio::buffer(space.data(), std::min(space.size(), cap)), ec);
      if (!ec) {
        b.commit(n);
        co_return std::tuple{ec, n};
      }
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return std::tuple{ec, std::size_t{0}};
      b.release();
      auto [waited] = co_await sock_.async_wait(tcp::socket::wait_read, token());
      if (waited) co_return std::tuple{waited, std::size_t{0}};
    }
  }
  const auto space = b.prepare(want);
  auto [ec, n] = co_await async_read_some(asio::buffer(space.data(), std::min(space.size(), cap)), token());
  if (!ec) b.commit(n);
  co_return std::tuple{ec, n};
}

}  // namespace kgw::gateway

#include "gateway/policy_wait.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <mutex>

#include "policies/policy.h"

namespace kgw::gateway {
namespace asio = boost::asio;

namespace {

// Shared with the completion callback, which may run on another thread after the wait ended or
// after the worker's io_context is gone: it posts only while the waiting frame is alive.
struct wait_state {
  std::mutex mu;
  bool waiting = true;
  std::shared_ptr<asio::steady_timer> timer;
};

struct stop_waiting {
  std::shared_ptr<wait_state> s;
  ~stop_waiting() {
    std::lock_guard lock(s->mu);
    s->waiting = false;
  }
};

}  // namespace

asio::awaitable<void> wait_for(policies::pending_work& work, std::chrono::milliseconds limit) {
  auto s = std::make_shared<wait_state>();
  s->timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, limit);
  stop_waiting guard{s};
  work.when_done([s] {
    std::lock_guard lock(s->mu);
    if (s->waiting) asio::post(s->timer->get_executor(), [t = s->timer] { t->cancel(); });
  });
  co_await s->timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace kgw::gateway

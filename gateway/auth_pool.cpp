#include "gateway/auth_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kgw::gateway {
namespace asio = boost::asio;

auth_pool::auth_pool(int threads) : work_(asio::make_work_guard(io_)) {
  for (int i = 0; i < std::max(threads, 1); ++i)
    threads_.emplace_back([this] {
      // Linux: a thread's nice value is its own (the TID names it). Failing to lower it is no
      // reason not to run.
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
      io_.run();
    });
}

auth_pool::~auth_pool() { shutdown(); }

void auth_pool::shutdown() {
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

int auth_pool::default_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 4));
}

// Not a coroutine itself: g++ 12 destroyed a coroutine's moved-from std::function parameter as
// if it still owned its target (a double free); co_spawn's awaitable is returned as it is.
asio::awaitable<void> auth_pool::run(std::function<void()> job) {
  // co_spawn's completion resumes the caller through its own executor: the worker's.
  return asio::co_spawn(
      io_,
      [j = std::move(job)]() -> asio::awaitable<void> {
        j();
        co_return;
      },
      asio::use_awaitable);
}

}  // namespace kgw::gateway

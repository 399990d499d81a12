#pragma once
// The threads that check passwords and tokens, so that a storm of logins cannot slow the relay:
// SASL/PLAIN runs PBKDF2 (thousands of HMAC rounds per attempt) and OAUTHBEARER verifies a
// signature; on a worker thread that time would delay every other connection of the worker.
// A small fixed pool (bounded: a storm queues here, not on the workers) whose threads run at a
// lower scheduling priority (nice +10), so that under a storm the relay wins the CPU and logins
// wait instead.
// Threading: run() is called from worker threads; the job runs on a pool thread with the
// caller suspended (it owns whatever the job touches until it resumes on its own executor).
// shutdown() once, from the thread that stops the gateway, after the workers have stopped.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

namespace kgw::gateway {

class auth_pool {
 public:
  explicit auth_pool(int threads);  // at least 1
  ~auth_pool();
  auth_pool(const auth_pool&) = delete;
  auth_pool& operator=(const auth_pool&) = delete;

  // Runs `job` on a pool thread and resumes the caller on its own executor when it is done.
  boost::asio::awaitable<void> run(std::function<void()> job);

  // Stops the threads; jobs not started are dropped with their waiting callers.
  void shutdown();

  // The default size: a quarter of the cores, at least one.
  static int default_threads();

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

}  // namespace kgw::gateway

#pragma once
// Waiting for work a policy started before it can decide (policies::pending_work, a wait
// verdict: data keys being made and stored), without blocking the worker: other connections on
// it go on. The work's completion may come from any thread; it is posted back to the worker.
// Bounded: after `limit` the session asks the policy again anyway, and the policy decides with
// what it has (a retriable error to the client, never an ungoverned request).
// Threading: called from a session's coroutine on its worker.
#include <boost/asio/awaitable.hpp>
#include <chrono>

namespace kgw::policies {
class pending_work;
}

namespace kgw::gateway {

boost::asio::awaitable<void> wait_for(policies::pending_work& work, std::chrono::milliseconds limit);

}  // namespace kgw::gateway

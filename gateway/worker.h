#pragma once
// One worker = one thread running one io_context. Everything a client connection needs lives on
// the worker that accepted it: the session, its upstream socket, the rewriter. Nothing here is
// locked; only the broker registry (shared) is.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/address_rewriter.h"
#include "gateway/gateway.h"

namespace kgw::gateway {

class broker_registry;
class session;

struct worker {
  worker(int index, const config::gateway_config& cfg, broker_registry& registry, const response_tap& tap,
         const std::vector<config::host_port>& bootstrap);

  const int index;
  const config::gateway_config& cfg;
  broker_registry& registry;
  const response_tap& tap;
  const std::vector<config::host_port>& bootstrap;
  std::size_t next_bootstrap = 0;  // round-robin over the bootstrap brokers
  address_rewriter rewriter;
  // Declared before io: sessions destroyed with io's pending handlers still update these.
  std::list<std::weak_ptr<session>> sessions;  // for draining on shutdown
  std::atomic<int> live_sessions{0};
  std::atomic<std::uint64_t> spliced_bytes{0};  // bytes moved socket to socket by splice(2)
  boost::asio::io_context io{1};  // concurrency hint 1: single-threaded, asio skips its locking
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors;
  std::thread thread;
};

}  // namespace kgw::gateway

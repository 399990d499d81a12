#include "gateway/gateway.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "gateway/broker_registry.h"
#include "gateway/embedded_cluster.h"
#include "gateway/frame_buffer.h"
#include "gateway/session.h"
#include "gateway/worker.h"
#include "protocol/api_versions.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/request_frame.h"

namespace kgw::gateway {
namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

worker::worker(int i, const config::gateway_config& c, broker_registry& reg, const response_tap& t,
               const std::vector<config::host_port>& bs)
    : index(i), cfg(c), registry(reg), tap(t), bootstrap(bs), rewriter(reg, c.advertised_host) {}

namespace {

std::vector<config::host_port> parse_bootstrap_list(const std::string& list) {
  std::vector<config::host_port> out;
  std::size_t start = 0;
  while (start < list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    auto item = list.substr(start, comma - start);
    auto colon = item.rfind(':');
    if (colon != std::string::npos)
      out.push_back({item.substr(0, colon), static_cast<std::uint16_t>(std::stoi(item.substr(colon + 1)))});
    start = comma + 1;
  }
  return out;
}

// One request/response exchange on a plain socket, for the gateway's own questions to the
// cluster (start-up discovery). Returns the response body after the response header.
awaitable<std::vector<std::byte>> exchange(tcp::socket& s, const protocol::writer& request) {
  auto [wec, wn] = co_await asio::async_write(s, asio::buffer(request.owned().data(), request.owned().size()), use_tuple);
  if (wec) throw std::runtime_error("write failed: " + wec.message());
  std::byte size_bytes[4];
  auto [rec, rn] = co_await asio::async_read(s, asio::buffer(size_bytes, 4), use_tuple);
  if (rec) throw std::runtime_error("read failed: " + rec.message());
  const std::int32_t n = read_be32(size_bytes);
  if (n < 4 || n > (64 << 20)) throw std::runtime_error("invalid response size " + std::to_string(n));
  std::vector<std::byte> body(static_cast<std::size_t>(n));
  auto [bec, bn] = co_await asio::async_read(s, asio::buffer(body.data(), body.size()), use_tuple);
  if (bec) throw std::runtime_error("read failed: " + bec.message());
  co_return body;
}

// Asks one bootstrap broker for the cluster's brokers (ApiVersions, then Metadata at the highest
// version both sides speak) so their gateway ports listen before the first client arrives.
awaitable<void> discover(asio::io_context& io, config::host_port bs, std::chrono::milliseconds timeout,
                         broker_registry& registry) {
  tcp::resolver resolver(io);
  auto endpoints = co_await resolver.async_resolve(bs.host, std::to_string(bs.port), asio::use_awaitable);
  tcp::socket s(io);
  co_await asio::async_connect(s, endpoints, asio::use_awaitable);

  protocol::api_versions_request av;
  auto av_body = co_await exchange(s, protocol::encode_request(av, 0, 1, "kafka-gateway"));
  protocol::reader r(av_body);
  protocol::response_header rh;
  rh.decode(r, 0);
  protocol::api_versions_response avr;
  avr.decode(r, 0);
  if (!r.ok() || avr.error_code != 0) throw std::runtime_error("ApiVersions failed");
  std::int16_t mv = -1;
  for (const auto& k : avr.api_keys)
    if (k.api_key == protocol::metadata_request::api_key)
      mv = std::min<std::int16_t>(k.max_version, protocol::metadata_request::max_version);
  if (mv < 1) throw std::runtime_error("broker does not offer Metadata v1+");

  protocol::metadata_request mr;
  mr.topics = std::vector<protocol::metadata_request::metadata_request_topic>{};  // brokers only
  mr.allow_auto_topic_creation = false;
  auto md_body = co_await exchange(s, protocol::encode_request(mr, mv, 2, "kafka-gateway"));
  protocol::reader mrd(md_body);
  protocol::response_header mh;
  mh.decode(mrd, protocol::response_header_version(protocol::metadata_request::api_key, mv));
  protocol::metadata_response md;
  md.decode(mrd, mv);
  if (!mrd.ok()) throw std::runtime_error(std::string("malformed Metadata response: ") + mrd.error().what);
  for (const auto& b : md.brokers) registry.learn(b.node_id, b.host, b.port);
  spdlog::info("upstream {} reports {} broker(s)", bs.str(), md.brokers.size());
}

}  // namespace

struct gateway::impl {
  explicit impl(config::gateway_config c) : cfg(std::move(c)) {}

  config::gateway_config cfg;
  std::unique_ptr<embedded_cluster> embedded;
  std::vector<config::host_port> bootstrap;
  response_tap tap;
  std::unique_ptr<broker_registry> registry;
  std::vector<std::unique_ptr<worker>> workers;
  std::mutex listen_mu;  // guards acceptor creation across discovering threads

  std::mutex state_mu;
  std::condition_variable state_cv;
  bool running = false;
  bool stopped = false;

  // Binds `port` on every worker (SO_REUSEPORT: the kernel spreads connections) and starts
  // accepting. A broker port's upstream is looked up per connection, so a broker that moves
  // keeps its port.
  bool listen(std::uint16_t port, bool bootstrap_port) {
    std::lock_guard lk(listen_mu);
    std::vector<std::unique_ptr<tcp::acceptor>> made;
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(cfg.listen.host, ec);
    if (ec) {
      spdlog::error("invalid listen address {}: {}", cfg.listen.host, ec.message());
      return false;
    }
    const tcp::endpoint ep(addr, port);
    {
      // SO_REUSEPORT would let this group share the port with another process (say, a second
      // gateway for another cluster) and split connections between them: make sure nobody holds it.
      tcp::acceptor probe(workers.front()->io);
      probe.open(ep.protocol(), ec);
      if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) probe.bind(ep, ec);
      if (ec) {
        spdlog::error("cannot listen on {}:{}: {}", cfg.listen.host, port, ec.message());
        return false;
      }
    }
    for (auto& w : workers) {
      auto a = std::make_unique<tcp::acceptor>(w->io);
      a->open(ep.protocol(), ec);
      if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) a->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
      if (!ec) a->bind(ep, ec);
      if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        spdlog::error("cannot listen on {}:{}: {}", cfg.listen.host, port, ec.message());
        return false;  // `made` closes what was opened
      }
      made.push_back(std::move(a));
    }
    for (std::size_t i = 0; i < workers.size(); ++i) {
      worker& w = *workers[i];
      tcp::acceptor* a = made[i].get();
      asio::post(w.io, [this, &w, a, acceptor = std::move(made[i]), bootstrap_port]() mutable {
        w.acceptors.push_back(std::move(acceptor));
        asio::co_spawn(w.io, accept_loop(w, *a, bootstrap_port), asio::detached);
      });
    }
    return true;
  }

  awaitable<void> accept_loop(worker& w, tcp::acceptor& a, bool bootstrap_port) {
    const auto port = a.local_endpoint().port();
    for (;;) {
      auto [ec, sock] = co_await a.async_accept(use_tuple);
      if (ec == asio::error::operation_aborted || !a.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: back off briefly instead of spinning.
        spdlog::warn("accept on port {} failed: {}", port, ec.message());
        asio::steady_timer t(w.io, std::chrono::milliseconds(100));
        co_await t.async_wait(use_tuple);
        continue;
      }
      upstream_target target;
      if (bootstrap_port) {
        target.candidates = bootstrap;
      } else if (auto t = registry->for_port(port)) {
        target.node_id = t->node_id;
        target.candidates.push_back(t->upstream);
      }
      start_session(w, std::move(sock), std::move(target));
    }
  }
};

gateway::gateway(config::gateway_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}
gateway::~gateway() { stop(); }

void gateway::set_response_tap(response_tap tap) { impl_->tap = std::move(tap); }

void gateway::start() {
  auto& m = *impl_;
  if (m.cfg.embedded) {
    std::vector<embedded_topic> topics;
    for (const auto& t : m.cfg.embedded->topics) topics.push_back({t.name, t.partitions});
    m.embedded = std::make_unique<embedded_cluster>(m.cfg.embedded->brokers, topics);
    m.bootstrap = parse_bootstrap_list(m.embedded->bootstrap());
    spdlog::info("embedded broker with {} broker(s) at {}", m.cfg.embedded->brokers, m.embedded->bootstrap());
  } else {
    m.bootstrap = m.cfg.upstream_bootstrap;
  }
  if (m.bootstrap.empty()) throw std::runtime_error("no upstream brokers configured");

  int n = m.cfg.workers > 0 ? m.cfg.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  m.registry = std::make_unique<broker_registry>(m.cfg.broker_port_first, m.cfg.broker_port_last,
                                                 [this](std::uint16_t port) { return impl_->listen(port, false); });
  for (int i = 0; i < n; ++i)
    m.workers.push_back(std::make_unique<worker>(i, m.cfg, *m.registry, m.tap, m.bootstrap));

  if (!m.listen(m.cfg.listen.port, true))
    throw std::runtime_error("cannot listen on " + m.cfg.listen.str());

  for (auto& w : m.workers) {
    w->thread = std::thread([wp = w.get()] {
      auto guard = asio::make_work_guard(wp->io);
      wp->io.run();
    });
  }

  // Discover the brokers now so their ports listen before clients ask; if the cluster is not
  // reachable yet, ports are bound as soon as metadata passes through.
  {
    asio::io_context io;
    std::string last_error;
    bool ok = false;
    for (const auto& bs : m.bootstrap) {
      asio::co_spawn(io, discover(io, bs, m.cfg.upstream_connect_timeout, *m.registry),
                     [&](std::exception_ptr e) {
                       if (!e) {
                         ok = true;
                         return;
                       }
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                         last_error = bs.str() + ": " + ex.what();
                       }
                     });
      io.run_for(m.cfg.upstream_connect_timeout);
      io.restart();
      if (ok) break;
    }
    if (!ok) spdlog::warn("could not discover the upstream brokers yet ({})", last_error);
  }
  {
    std::lock_guard lk(m.state_mu);
    m.running = true;
  }
  spdlog::info("gateway listening on {} ({} worker(s)), brokers on ports {}-{} advertised as {}", m.cfg.listen.str(),
               n, m.cfg.broker_port_first, m.cfg.broker_port_last, m.cfg.advertised_host);
}

void gateway::stop() {
  auto& m = *impl_;
  {
    std::lock_guard lk(m.state_mu);
    if (m.stopped) return;
    m.stopped = true;
  }
  m.state_cv.notify_all();
  // Stop accepting, let sessions deliver what is in flight, then stop the workers.
  for (auto& w : m.workers) {
    asio::post(w->io, [wp = w.get()] {
      for (auto& a : wp->acceptors) {
        boost::system::error_code ec;
        a->close(ec);
      }
      drain_sessions(*wp);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& w : m.workers) {
    while (w->live_sessions.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& w : m.workers) w->io.stop();
  for (auto& w : m.workers)
    if (w->thread.joinable()) w->thread.join();
  m.workers.clear();
  m.embedded.reset();
}

void gateway::wait() {
  auto& m = *impl_;
  std::unique_lock lk(m.state_mu);
  m.state_cv.wait(lk, [&] { return m.stopped; });
}

std::uint16_t gateway::bootstrap_port() const { return impl_->cfg.listen.port; }

std::uint64_t gateway::spliced_bytes() const {
  std::uint64_t n = 0;
  for (const auto& w : impl_->workers) n += w->spliced_bytes.load(std::memory_order_relaxed);
  return n;
}

std::string gateway::upstream_bootstrap() const {
  std::string out;
  for (const auto& b : impl_->bootstrap) out += (out.empty() ? "" : ",") + b.str();
  return out;
}

}  // namespace kgw::gateway

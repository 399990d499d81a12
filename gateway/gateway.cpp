#include "gateway/gateway.h"

// g++ 12 flags Asio's coroutine frame allocator as a mismatched new/delete pair when it inlines
// a coroutine's frame deallocation (a known false positive with C++20 coroutines).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <signal.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "gateway/admin_server.h"
#include "gateway/auth_pool.h"
#include "gateway/api_versions_answer.h"
#include "gateway/audit/audit_log.h"
#include "gateway/broker_registry.h"
#include "gateway/byte_stream.h"
#include "gateway/embedded_broker_process.h"
#include "gateway/frame_buffer.h"
#include "gateway/governance_summary.h"
#include "gateway/identity_store.h"
#include "gateway/key_service.h"
#include "gateway/listener.h"
#include "gateway/live_config.h"
#include "gateway/logging.h"
#include "gateway/metrics/gateway_metrics.h"
#include "gateway/restart_settings.h"
#include "gateway/security/jwt.h"
#include "gateway/session.h"
#include "gateway/tls_channel.h"
#include "gateway/tls_context.h"
#include "gateway/upstream_connector.h"
#include "gateway/worker.h"
#include "policies/policy_set.h"
#include "policies/quota/connection_limits.h"
#include "policies/transform_cache.h"
#include "protocol/metadata.h"

namespace kgw::gateway {
namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

worker::worker(int i, std::shared_ptr<const config::gateway_config> c,
               const std::vector<std::unique_ptr<listener_runtime>>& listeners, const upstream_connector& conn,
               cluster_versions& v, const response_tap& t, const policies::decision_stream& d,
               const bootstrap_brokers& bs, const live_configs& l)
    : index(i),
      cfg(std::move(c)),
      connector(conn),
      versions(v),
      tap(t),
      decisions(d),
      bootstrap(bs),
      upstream_log(5, std::chrono::seconds(60), 1024, &log::upstream(), "at"),
      live(l) {
  for (const auto& lr : listeners) {
    rewriters.emplace_back(*lr->registry, lr->cfg.advertised_host, lr->sasl.has_value(), &versions);
    // With ACLs on, clients learn only the APIs the gateway can authorize or lets through (as
    // the live generation says: ApiVersions is answered once per connection).
    rewriters.back().set_api_filter(
        [](std::int16_t key, const void* ctx) {
          const auto gen = static_cast<const live_configs*>(ctx)->current();
          return !gen->policies || gen->policies->lists_api(key);
        },
        &live);
  }
}

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

// Asks one bootstrap broker for the cluster's brokers (ApiVersions, then Metadata at the highest
// version both sides speak) so their gateway ports listen before the first client arrives, and
// notes the cluster's API versions for pre-authentication ApiVersions answers.
awaitable<void> discover(config::host_port bs, const upstream_connector& connector, cluster_versions& versions,
                         const std::vector<std::unique_ptr<listener_runtime>>& listeners) {
  byte_stream s(tcp::socket(co_await asio::this_coro::executor));
  const auto done = co_await connector.connect(s, bs);
  if (!done) throw std::runtime_error(done.error());

  std::vector<api_range> ranges = co_await fetch_api_versions(s, 1);
  std::int16_t mv = -1;
  for (const auto& k : ranges)
    if (k.api_key == protocol::metadata_request::api_key)
      mv = std::min<std::int16_t>(k.max_version, protocol::metadata_request::max_version);
  versions.update(std::move(ranges));
  if (mv < 1) throw std::runtime_error("broker does not offer Metadata v1+");

  protocol::metadata_request mr;
  mr.topics = std::vector<protocol::metadata_request::metadata_request_topic>{};  // brokers only
  mr.allow_auto_topic_creation = false;
  const auto answer = co_await ask<protocol::metadata_response>(s, mr, mv, 2);
  const auto& md = answer.msg;
  for (const auto& l : listeners)
    for (const auto& b : md.brokers) l->registry->learn(b.node_id, b.host, b.port);
  log::relay().info("upstream {} reports {} broker(s)", bs.str(), md.brokers.size());
}

// The run-time form of one listener's configuration. Throws std::runtime_error naming the
// listener when a certificate, key, rule or key set is unusable.
std::unique_ptr<listener_runtime> make_listener(std::size_t index, const config::listener_config& cfg) {
  auto l = std::make_unique<listener_runtime>();
  l->index = index;
  l->cfg = cfg;
  l->slots = std::make_unique<connection_slots>(cfg.max_connections);
  const std::string what = "listener '" + cfg.name + "'";
  if (cfg.tls) {
    l->tls = make_server_tls_context(*cfg.tls, what + " tls");
    auto m = security::principal_mapping::parse(cfg.principal_mapping_rules);
    if (!m) throw std::runtime_error(what + " principal_mapping_rules: " + m.error());
    l->mapping = std::move(*m);
  }
  if (cfg.sasl) {
    sasl_context sc;
    sc.mechanisms = cfg.sasl->mechanisms;
    if (cfg.sasl->oauthbearer) {
      const auto& ob = *cfg.sasl->oauthbearer;
      auto keys = security::jwks::parse(ob.jwks_json);
      if (!keys) throw std::runtime_error(what + " oauthbearer.jwks: " + keys.error());
      for (const auto& why : keys->skipped()) log::relay().warn("{} oauthbearer.jwks: {} (skipped)", what, why);
      security::jwt_rules rules;
      rules.issuer = ob.issuer;
      rules.audiences = ob.audiences;
      rules.principal_claim = ob.principal_claim;
      rules.clock_skew = ob.clock_skew;
      l->jwt = std::make_shared<security::jwt_validator>(std::move(*keys), std::move(rules));
      sc.jwt = l->jwt.get();
    }
    l->sasl = std::move(sc);
  }
  return l;
}

}  // namespace

namespace {
// "3 principals, 5 ACL rules, 2 views, 1 validation rule (from policies.yaml, ...)": each
// policy section says what it holds.
std::string describe_live(const config::gateway_config& c) {
  std::string out = std::to_string(c.principals.size()) + (c.principals.size() == 1 ? " principal" : " principals");
  for (const auto& s : c.policies.sections) out += ", " + s->summary();
  std::string files;
  for (const auto& f : c.policies.files) files += (files.empty() ? "" : ", ") + f;
  return out + (files.empty() ? "" : " (from " + files + ")");
}

// "records_delivered 1200, records_filtered 300, ...": the counts that are not zero.
std::string describe(const governance_stats& s) {
  std::string out;
#define KGW_DESCRIBE(name) \
  if (s.name) out += (out.empty() ? "" : ", ") + std::string(#name " ") + std::to_string(s.name);
  KGW_DECISION_TALLIES(KGW_DESCRIBE)
#undef KGW_DESCRIBE
  return out;
}

// What the policies did since start-up, logged every minute while it changes (operators see
// dropped and invalid records without a metrics system) and once at shutdown.
awaitable<void> report_governance(const gateway& gw) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  governance_stats last;
  for (;;) {
    t.expires_after(std::chrono::minutes(1));
    if (auto [ec] = co_await t.async_wait(use_tuple); ec) co_return;
    const auto now = gw.governance();
    if (now == last) continue;
    log::relay().info("governance since start: {}", describe(now));
    last = now;
  }
}

// Every second, each session's request and byte counts go to the metrics (session.h).
awaitable<void> publish_counts_every_second(worker& w) {
  asio::steady_timer t(w.io);
  for (;;) {
    t.expires_after(std::chrono::seconds(1));
    if (auto [ec] = co_await t.async_wait(use_tuple); ec) co_return;
    publish_session_counts(w);
  }
}

void log_governance(const gateway& gw, const char* what) {
  const auto s = gw.governance();
  if (s == governance_stats{}) return;
  log::relay().info("{}: {}", what, describe(s));
}

}  // namespace

struct gateway::impl {
  explicit impl(config::gateway_config c) : boot(std::make_shared<const config::gateway_config>(std::move(c))) {}

  std::shared_ptr<const config::gateway_config> boot;  // as started: listeners, upstream, limits
  policies::quota::quota_meters quota_meters;          // quota rates measured, across generations
  policies::quota::connection_limits connection_limits;  // open connections per address and principal
  connection_slots open_connections{boot->max_connections};  // gateway.max_connections
  live_configs live;                                   // principals and policies, by generation
  std::mutex reload_mu;                                // one reload at a time
  std::string embedded_program;  // runs `upstream.embedded`; empty: this very program
  request_memory_budget request_memory{boot->max_buffered_request_bytes};  // shared by all workers
  // Governed batches shared by sessions with alike views, across workers and generations.
  std::shared_ptr<policies::transform_cache> transforms =
      boot->transform_cache_bytes ? std::make_shared<policies::transform_cache>(boot->transform_cache_bytes) : nullptr;
  bootstrap_brokers bootstrap;
  // After bootstrap: destroyed first, so its watcher (which sets bootstrap on a restart) stops
  // before bootstrap goes, also when start() throws.
  std::unique_ptr<embedded_broker_process> embedded;
  // The key manager encrypted topics need (after bootstrap, which it reads).
  key_service keys{[this] {
    std::string list;
    for (const auto& b : *bootstrap.get()) list += (list.empty() ? "" : ",") + b.str();
    return list;
  }};
  response_tap tap;
  policies::decision_stream decisions;  // subscribers added before start()
  governance_counters governance;       // a subscriber: the minute summary
  // With an admin listener: the metrics (a subscriber too) and the HTTP server that shows them.
  std::unique_ptr<metrics::gateway_metrics> metrics;
  std::unique_ptr<admin_server> admin;
  std::unique_ptr<audit::audit_log> audit;  // with `audit:` (a subscriber)
  std::unique_ptr<upstream_connector> connector;
  cluster_versions versions;
  std::vector<std::unique_ptr<listener_runtime>> listeners;
  std::vector<std::unique_ptr<worker>> workers;
  // Password and token checks (SASL listeners). Shut down after the workers stop, before they
  // go: a login waiting for it holds its worker's session.
  std::unique_ptr<auth_pool> auth;
  std::mutex listen_mu;  // guards acceptor creation across discovering threads

  std::mutex state_mu;
  std::condition_variable state_cv;
  bool running = false;
  bool stopped = false;

  // Binds `port` on every worker (SO_REUSEPORT: the kernel spreads connections) and starts
  // accepting. A broker port's upstream is looked up per connection, so a broker that moves
  // keeps its port.
  bool listen(listener_runtime& l, std::uint16_t port, bool bootstrap_port) {
    std::lock_guard lk(listen_mu);
    std::vector<std::unique_ptr<tcp::acceptor>> made;
    boost::system::error_code ec;
    const auto& host = l.cfg.listen.host;
    const auto addr = asio::ip::make_address(host, ec);
    if (ec) {
      log::relay().error("invalid listen address {}: {}", host, ec.message());
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
        log::relay().error("cannot listen on {}:{}: {}", host, port, ec.message());
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
        log::relay().error("cannot listen on {}:{}: {}", host, port, ec.message());
        return false;  // `made` closes what was opened
      }
      made.push_back(std::move(a));
    }
    for (std::size_t i = 0; i < workers.size(); ++i) {
      worker& w = *workers[i];
      tcp::acceptor* a = made[i].get();
      asio::post(w.io, [this, &w, &l, a, acceptor = std::move(made[i]), bootstrap_port]() mutable {
        w.acceptors.push_back(std::move(acceptor));
        asio::co_spawn(w.io, accept_loop(w, *a, l, bootstrap_port), asio::detached);
      });
    }
    return true;
  }

  // quotas.per_address: a connection over its address's limits is closed at once, before TLS or
  // SASL (as a broker closes one over max.connections.per.ip), logged (rate-limited) and counted.
  // counted: the address, when it was counted (the session gives it back).
  bool admit_address(worker& w, const listener_runtime& l, tcp::socket& sock, std::string& counted) {
    const auto gen = live.current();
    const auto* per_address = gen && gen->quotas ? gen->quotas->per_address() : nullptr;
    if (!per_address) return true;
    boost::system::error_code ec;
    const auto remote = sock.remote_endpoint(ec);
    if (ec) return false;  // already gone
    const std::string address = remote.address().to_string();
    const policies::quota::connection_limits::limits limits{per_address->max_connections,
                                                             per_address->connections_per_second,
                                                             gen->quotas->samples(), gen->quotas->window()};
    const auto v = connection_limits.admit_address(address, limits, std::chrono::steady_clock::now());
    if (v == policies::quota::connection_limits::verdict::admitted) {
      counted = address;
      return true;
    }
    const char* why = policies::quota::connection_limits::reason(v);
    w.auth_log.failure(address, "connection refused", std::string("over quotas.per_address ") + why);
    if (w.metrics) {
      w.metrics->connection_refused(l.cfg.name, "address", why);
      w.metrics->connection_closed(l.cfg.name);
    }
    sock.close(ec);
    return false;
  }

  // A free slot of the listener and of the gateway (max_connections) for a connection just
  // accepted. None free: this acceptor accepts nothing more until one frees (the connection waits
  // unserved, and the next ones in the kernel's backlog), as on a broker at its limit. Slots
  // are not taken before accepting: every port of every worker waits in accept.
  awaitable<std::optional<connection_slot>> take_slot(worker& w, tcp::acceptor& a, const listener_runtime& l) {
    std::optional<connection_slot> slot;
    asio::steady_timer retry(w.io);
    bool told = false;
    while (!(slot = connection_slot::take(*l.slots, open_connections))) {
      if (!told) {
        told = true;
        const bool own = l.slots->limit() && l.slots->open() >= *l.slots->limit();
        w.upstream_log.failure(l.cfg.listen.str(), "connections",
                               own ? "listener '" + l.cfg.name + "' is at its max_connections (" +
                                         std::to_string(*l.slots->limit()) + "): not accepting until one closes"
                                   : "the gateway is at gateway.max_connections (" +
                                         std::to_string(open_connections.limit().value_or(0)) +
                                         "): not accepting until one closes");
      }
      retry.expires_after(std::chrono::milliseconds(20));
      co_await retry.async_wait(use_tuple);
      if (!a.is_open()) break;
    }
    co_return slot;
  }

  awaitable<void> accept_loop(worker& w, tcp::acceptor& a, const listener_runtime& l, bool bootstrap_port) {
    const auto port = a.local_endpoint().port();
    for (;;) {
      auto [ec, sock] = co_await a.async_accept(use_tuple);
      if (ec == asio::error::operation_aborted || !a.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: back off briefly instead of spinning.
        log::relay().warn("accept on port {} failed: {}", port, ec.message());
        asio::steady_timer t(w.io, std::chrono::milliseconds(100));
        co_await t.async_wait(use_tuple);
        continue;
      }
      upstream_target target;
      if (bootstrap_port) {
        target.candidates = *bootstrap.get();
      } else if (auto t = l.registry->for_port(port)) {
        target.node_id = t->node_id;
        target.candidates.push_back(t->upstream);
      }
      auto slot = co_await take_slot(w, a, l);
      if (!slot) co_return;  // closed while waiting
      if (w.metrics) w.metrics->connection_accepted(l.cfg.name);
      std::string counted;
      if (!admit_address(w, l, sock, counted)) continue;
      start_session(w, l, std::move(sock), std::move(target), std::move(*slot), std::move(counted));
    }
  }
};

gateway::gateway(config::gateway_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}
gateway::~gateway() { stop(); }

void gateway::set_response_tap(response_tap tap) { impl_->tap = std::move(tap); }
void gateway::set_auth_tap(auth_tap tap) {
  subscribe([tap = std::move(tap)](const policies::decision& d) {
    if (d.kind == policies::decision_kind::authenticated) tap(d.listener, d.principal, d.mechanism);
  });
}
void gateway::subscribe(policies::decision_stream::subscriber s, bool traffic) {
  impl_->decisions.subscribe(std::move(s), traffic);
}
void gateway::set_embedded_broker_program(std::string path) { impl_->embedded_program = std::move(path); }

void gateway::start() {
  auto& m = *impl_;
  if (m.boot->embedded) {
    // In a child process: a request that crashes the mock broker must not take the gateway down.
    m.embedded = std::make_unique<embedded_broker_process>(
        m.embedded_program.empty() ? embedded_broker_process::self_program() : m.embedded_program, *m.boot->embedded);
    const std::string at = m.embedded->start([&m](const std::string& bootstrap) {
      m.bootstrap.set(parse_bootstrap_list(bootstrap));  // clients re-learn the brokers through it
    });
    m.bootstrap.set(parse_bootstrap_list(at));
    log::relay().info("embedded broker with {} broker(s) at {} (pid {})", m.boot->embedded->brokers, at, m.embedded->pid());
  } else {
    m.bootstrap.set(m.boot->upstream_bootstrap);
  }
  if (m.bootstrap.get()->empty()) throw std::runtime_error("no upstream brokers configured");

  m.decisions.subscribe([&c = m.governance](const policies::decision& d) { c.add(d); });
  if (m.boot->admin) {
    m.metrics = std::make_unique<metrics::gateway_metrics>(*m.boot->admin);
    m.metrics->set_generation(1);
    m.decisions.subscribe([&mx = *m.metrics](const policies::decision& d) { mx.on_decision(d); }, true);
  }
  if (m.boot->audit) {
    std::string servers;
    for (const auto& b : *m.bootstrap.get()) servers += (servers.empty() ? "" : ",") + b.str();
    auto trail = audit::make_audit_log(*m.boot, servers, m.metrics.get());
    if (!trail) throw std::runtime_error(trail.error());
    m.audit = std::move(*trail);
    m.decisions.subscribe([&a = *m.audit](const policies::decision& d) { a.on_decision(d); }, m.audit->wants_traffic());
    m.audit->start();
  }
  m.keys.set_decision_stream(&m.decisions);
  auto services = m.keys.services_for(*m.boot);
  if (!services) throw std::runtime_error(services.error());
  services->transforms = m.transforms;
  m.live.publish(std::make_shared<const live_config>(1, m.boot, std::move(*services), &m.quota_meters));
  m.connector = std::make_unique<upstream_connector>(m.boot);
  const auto listener_cfgs = m.boot->effective_listeners();
  for (std::size_t i = 0; i < listener_cfgs.size(); ++i) {
    auto l = make_listener(i, listener_cfgs[i]);
    listener_runtime* lp = l.get();
    l->registry = std::make_unique<broker_registry>(
        l->cfg.broker_port_first, l->cfg.broker_port_last,
        [this, lp](std::uint16_t port) { return impl_->listen(*lp, port, false); });
    m.listeners.push_back(std::move(l));
  }

  const bool sasl = std::any_of(m.listeners.begin(), m.listeners.end(), [](const auto& l) { return l->sasl.has_value(); });
  if (sasl) m.auth = std::make_unique<auth_pool>(m.boot->auth_threads > 0 ? m.boot->auth_threads : auth_pool::default_threads());
  int n = m.boot->workers > 0 ? m.boot->workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    m.workers.push_back(
        std::make_unique<worker>(i, m.boot, m.listeners, *m.connector, m.versions, m.tap, m.decisions, m.bootstrap,
                                 m.live));
    m.workers.back()->request_memory = &m.request_memory;
    m.workers.back()->metrics = m.metrics.get();
    m.workers.back()->connection_limits = &m.connection_limits;
    m.workers.back()->auth = m.auth.get();
    m.workers.back()->audit = m.audit.get();
  }

  for (auto& l : m.listeners)
    if (!m.listen(*l, l->cfg.listen.port, true))
      throw std::runtime_error("listener '" + l->cfg.name + "': cannot listen on " + l->cfg.listen.str());

  for (auto& w : m.workers) {
    w->thread = std::thread([wp = w.get()] {
      // splice() into a socket its peer reset raises SIGPIPE (it has no MSG_NOSIGNAL), whose
      // default action ends the process: every client's connection for one client's reset.
      // Blocked here, the thread-directed signal stays pending and splice returns EPIPE.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
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
    for (const auto& bs : *m.bootstrap.get()) {
      asio::co_spawn(io, discover(bs, *m.connector, m.versions, m.listeners),
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
      io.run_for(m.boot->upstream_connect_timeout);
      io.restart();
      if (ok) break;
    }
    if (!ok) log::relay().warn("could not discover the upstream brokers yet ({})", last_error);
  }
  {
    std::lock_guard lk(m.state_mu);
    m.running = true;
  }
  asio::co_spawn(m.workers.front()->io, report_governance(*this), asio::detached);
  if (m.metrics) {
    for (auto& w : m.workers) asio::co_spawn(w->io, publish_counts_every_second(*w), asio::detached);
    m.admin = std::make_unique<admin_server>(
        *m.boot->admin,
        [&mx = *m.metrics, cache = m.transforms] {
          if (cache) {
            const auto t = cache->snapshot();
            mx.transform_cache(t.hits, t.misses, t.evicted, t.bytes, t.entries, cache->capacity());
          }
          return mx.render();
        },
        [this] { return not_ready(); });
    m.admin->start();
  }
  for (const auto& l : m.listeners) {
    std::string how = config::security_protocol_name(l->cfg.protocol);
    if (l->cfg.sasl) {
      how += " (";
      for (std::size_t i = 0; i < l->cfg.sasl->mechanisms.size(); ++i) how += (i ? ", " : "") + l->cfg.sasl->mechanisms[i];
      how += ")";
    }
    if (l->cfg.tls && l->cfg.tls->client_auth != config::client_auth_mode::none)
      how += l->cfg.tls->client_auth == config::client_auth_mode::required ? ", client certificate required"
                                                                      : ", client certificate requested";
    if (l->cfg.tls) how += "; " + tls_path_description();
    log::relay().info("listener '{}' on {}: {}; brokers on ports {}-{} advertised as {}", l->cfg.name, l->cfg.listen.str(),
                 how, l->cfg.broker_port_first, l->cfg.broker_port_last, l->cfg.advertised_host);
  }
  log::relay().info("gateway running with {} worker(s); upstream {}{}; configuration generation 1 live: {}", n,
               config::security_protocol_name(m.boot->upstream_protocol),
               m.boot->upstream_sasl ? " as " + m.boot->upstream_sasl->username + " (" + m.boot->upstream_sasl->mechanism + ")" : "",
               describe_live(*m.boot));
}

namespace {
void emit_reload(const policies::decision_stream& s, const reload_result& r) {
  policies::decision d;
  d.kind = policies::decision_kind::reload;
  d.generation = r.generation;
  d.accepted = r.accepted;
  d.detail = r.message;
  s.emit(d);
}
}  // namespace

reload_result gateway::reload_failed(std::string why) {
  reload_result r;
  r.generation = generation();
  r.message = std::move(why);
  emit_reload(impl_->decisions, r);
  return r;
}

reload_result gateway::reload(config::gateway_config next) {
  auto r = apply(std::move(next));
  emit_reload(impl_->decisions, r);
  return r;
}

reload_result gateway::apply(config::gateway_config next) {
  auto& m = *impl_;
  std::lock_guard lk(m.reload_mu);
  const auto live = m.live.current();
  reload_result r;
  r.generation = live ? live->generation : 0;
  if (!live) {
    r.message = "the gateway is not running";
    return r;
  }
  if (const auto changed = restart_only_changes(*m.boot, next); !changed.empty()) {
    std::string list;
    for (const auto& c : changed) list += (list.empty() ? "" : ", ") + c;
    r.message = "needs a restart to change: " + list + "; nothing of it applied";
    return r;
  }
  // Everything else equals the start-up configuration (checked above): the same file again?
  config::gateway_config same = next;
  same.source = live->cfg->source;
  if (same == *live->cfg) {
    r.accepted = true;
    r.unchanged = true;
    r.message = "unchanged";
    return r;
  }
  try {
    auto services = m.keys.services_for(next);
    if (!services) {
      r.message = services.error();
      return r;
    }
    services->transforms = m.transforms;
    auto gen = std::make_shared<const live_config>(live->generation + 1,
                                                   std::make_shared<const config::gateway_config>(std::move(next)),
                                                   std::move(*services), &m.quota_meters);
    if (gen->cfg->log_level != live->cfg->log_level)
      if (auto levels = config::parse_log_levels(gen->cfg->log_level)) log::apply(*levels);
    r.generation = gen->generation;
    r.message = describe_live(*gen->cfg);
    m.live.publish(std::move(gen));
    r.accepted = true;
  } catch (const std::exception& e) {
    r.message = e.what();
  }
  return r;
}

std::uint64_t gateway::generation() const { return impl_->live.generation(); }

std::optional<std::string> gateway::not_ready() const {
  auto& m = *impl_;
  {
    std::lock_guard lk(m.state_mu);
    if (!m.running || m.stopped) return std::string("not serving (starting or stopping)");
  }
  if (!m.live.current()) return std::string("no configuration live");
  // An upstream broker that accepts a connection now (TCP, bounded by the connect timeout and
  // 2 s): a gateway whose cluster is gone should be taken out of a balancer's rotation.
  const auto brokers = m.bootstrap.get();
  std::string last;
  for (const auto& b : *brokers) {
    asio::io_context io;
    tcp::socket sock(io);
    tcp::resolver resolver(io);
    boost::system::error_code result = asio::error::timed_out;
    resolver.async_resolve(b.host, std::to_string(b.port), [&](boost::system::error_code ec, tcp::resolver::results_type r) {
      if (ec) {
        result = ec;
        return;
      }
      asio::async_connect(sock, r, [&](boost::system::error_code cec, const tcp::endpoint&) { result = cec; });
    });
    io.run_for(std::min<std::chrono::milliseconds>(m.boot->upstream_connect_timeout, std::chrono::seconds(2)));
    if (!result) {
      last.clear();
      break;
    }
    last = b.str() + ": " + result.message();
  }
  if (!last.empty()) return "no upstream broker reachable (" + last + ")";
  if (auto h = m.keys.health(); !h) return "key management: " + h.error();
  // With audit.fail: closed a gateway that cannot audit serves no data: out of rotation.
  if (m.audit && m.audit->fails_closed() && !m.audit->accepting()) return m.audit->trouble();
  return std::nullopt;
}

void gateway::reopen_audit() {
  if (impl_->audit) impl_->audit->reopen();
}

std::uint16_t gateway::admin_port() const { return impl_->admin ? impl_->admin->port() : 0; }

void gateway::stop() {
  auto& m = *impl_;
  {
    std::lock_guard lk(m.state_mu);
    if (m.stopped) return;
    m.stopped = true;
  }
  m.state_cv.notify_all();
  if (m.admin) m.admin->stop();
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
  log_governance(*this, "governance totals");
  if (m.transforms)
    if (const auto t = m.transforms->snapshot(); t.hits + t.misses > 0)
      log::relay().info("transform cache: {} batches from the cache, {} governed ({:.1f}% shared), {} evicted, {} bytes "
                        "held of {}",
                        t.hits, t.misses, 100.0 * static_cast<double>(t.hits) / static_cast<double>(t.hits + t.misses),
                        t.evicted, t.bytes, m.transforms->capacity());
  for (auto& w : m.workers) w->io.stop();
  for (auto& w : m.workers)
    if (w->thread.joinable()) w->thread.join();
  m.auth.reset();  // drops logins still waiting for it, while their workers still exist
  m.workers.clear();
  if (m.audit) m.audit->stop();  // what the sessions decided last, then the rollups, written out
  m.keys.stop();
  if (m.embedded) m.embedded->stop();
}

void gateway::wait() {
  auto& m = *impl_;
  std::unique_lock lk(m.state_mu);
  m.state_cv.wait(lk, [&] { return m.stopped; });
}

std::uint16_t gateway::bootstrap_port() const {
  const auto ls = impl_->boot->effective_listeners();
  return ls.front().listen.port;
}

std::uint16_t gateway::listener_port(std::string_view name) const {
  for (const auto& l : impl_->boot->effective_listeners())
    if (l.name == name) return l.listen.port;
  return 0;
}

std::uint64_t gateway::spliced_bytes() const {
  std::uint64_t n = 0;
  for (const auto& w : impl_->workers) n += w->spliced_bytes.load(std::memory_order_relaxed);
  return n;
}

std::size_t gateway::buffered_request_bytes() const { return impl_->request_memory.used(); }

governance_stats gateway::governance() const {
  governance_stats s;
#define KGW_READ(name) s.name = impl_->governance.name.load(std::memory_order_relaxed);
  KGW_DECISION_TALLIES(KGW_READ)
#undef KGW_READ
  return s;
}

std::string gateway::upstream_bootstrap() const {
  std::string out;
  for (const auto& b : *impl_->bootstrap.get()) out += (out.empty() ? "" : ",") + b.str();
  return out;
}

}  // namespace kgw::gateway

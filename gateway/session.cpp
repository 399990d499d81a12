#include "gateway/session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <list>
#include <unordered_map>

#include "gateway/address_rewriter.h"
#include "gateway/audit/audit_log.h"
#include "gateway/byte_stream.h"
#include "gateway/client_handshake.h"
#include "gateway/frame_buffer.h"
#include "gateway/identity_store.h"
#include "gateway/inflight_queue.h"
#include "gateway/listener.h"
#include "gateway/live_config.h"
#include "gateway/logging.h"
#include "gateway/metrics/gateway_metrics.h"
#include "gateway/policy_chain.h"
#include "gateway/policy_wait.h"
#include "gateway/request_inspector.h"
#include "gateway/splice_relay.h"
#include "gateway/topic_id_lookup.h"
#include "gateway/upstream_connector.h"
#include "gateway/worker.h"
#include "policies/audit/audit_gate.h"
#include "policies/decision.h"
#include "policies/quota/connection_limits.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/fetch_scanner.h"
#include "protocol/metadata.h"
#include "protocol/produce_scanner.h"
#include "protocol/record_batch.h"
#include "protocol/request_walk.h"
#include "protocol/throttle_field.h"

namespace kgw::gateway {
namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string peer_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::string address_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string();
}

std::string api_name(std::int16_t key) {
  const char* name = protocol::api_name(key);
  return name ? name : "api" + std::to_string(key);
}

}  // namespace

class session : public std::enable_shared_from_this<session> {
 public:
  session(worker& w, const listener_runtime& l, tcp::socket client, upstream_target target, connection_slot slot,
          std::string counted_address)
      : w_(w),
        l_(l),
        rewriter_(w.rewriters[l.index]),
        client_(std::move(client)),
        upstream_(tcp::socket(w.io)),
        target_(std::move(target)),
        idle_timer_(w.io),
        client_free_(w.io),
        pipeline_room_(w.io),
        mute_timer_(w.io),
        counted_address_(std::move(counted_address)),
        slot_(std::move(slot)) {
    peer_ = peer_of(client_.socket());
    in_.pace_growth(w.request_memory);
    ++w_.live_sessions;
  }
  ~session() {
    --w_.live_sessions;
    if (w_.connection_limits) {
      if (!counted_address_.empty()) w_.connection_limits->release_address(counted_address_);
      if (principal_counted_) w_.connection_limits->release_principal(principal_.name);
    }
    if (w_.metrics) {
      publish_counts();
      w_.metrics->connection_closed(l_.cfg.name);
      if (upstream_counted_) w_.metrics->upstream_closed(upstream_name_);
    }
  }

  // Adds what this connection counted since the last call to its principal's metrics (the
  // worker's tick calls it every second, and the destructor once more): the relay itself only
  // increments plain members.
  void publish_counts() {
    if (!w_.metrics) return;
    // Before authentication the principal is not known yet: those bytes count as "".
    const metrics::session_counts delta{bytes_in_ - published_.bytes_in, bytes_out_ - published_.bytes_out};
    if (delta.bytes_in || delta.bytes_out) w_.metrics->add_session_counts(principal_.name, delta);
    published_ = {bytes_in_, bytes_out_};
    for (std::size_t slot = 0; slot < requests_by_key_.size(); ++slot) {
      if (!requests_by_key_[slot]) continue;
      w_.metrics->add_requests(principal_.name, slot, requests_by_key_[slot]);
      requests_by_key_[slot] = 0;
    }
  }

  // One more request from the client (answered by the broker, by the gateway, or by nobody).
  void count_request(std::int16_t api_key) {
    ++requests_;
    if (!w_.metrics) return;
    if (requests_by_key_.empty()) requests_by_key_.resize(metrics::session_counts::key_slots);
    ++requests_by_key_[metrics::session_counts::slot_of(api_key)];
  }

  awaitable<void> run() {
    auto self = shared_from_this();
    boost::system::error_code ec;
    client_.socket().set_option(tcp::no_delay(true), ec);
    live_ = w_.live.current();  // the generation this connection authenticates against
    {
      client_handshake handshake = make_handshake();  // outlives the coroutine it runs
      auto who = co_await handshake.run();
      if (!who) co_return close();
      principal_ = std::move(*who);
    }
    adopt(live_);
    origin().emit(origin().event(policies::decision_kind::authenticated));
    if (!admit_principal()) co_return close();
    // The broker connection opens with the first whole request: idle sockets (a flood of them on
    // a PLAINTEXT listener) cost the broker nothing.
    if (!upstream_.socket().is_open() && !(co_await first_request() && co_await connect_upstream()))
      co_return close();
    // Logged once the connection is served: idle sockets and attempts the broker refused (a
    // reconnect storm while it restarts) add no line each.
    log::relay().info("{} on listener {}: principal {} ({})", peer_, l_.cfg.name, principal_.kafka_name(),
                      principal_.mechanism);
    log::relay().debug("{}: relaying to {}", peer_, upstream_name_);
    last_activity_ = std::chrono::steady_clock::now();
    co_await (then_close(client_to_upstream()) || then_close(upstream_to_client()) || then_close(idle_watchdog()));
    close();
    if (w_.decisions.wants_traffic()) report_consumed();
    log::relay().info("{} {} -> {} ({}): {} requests, {} bytes in, {} bytes out; closed: {}", peer_,
                 principal_.kafka_name(), upstream_name_,
                 target_.node_id ? "broker " + std::to_string(*target_.node_id) : std::string("bootstrap"),
                 requests_, bytes_in_, bytes_out_, end_reason_.empty() ? "client left" : end_reason_);
  }

  void drain() {
    draining_ = true;
    if (inflight_.empty() && !mid_response())
      close();
    else
      stop_reading_.emit(asio::cancellation_type::terminal);
  }

 private:
  // Whichever part finishes first closes both sockets, so the others' pending operations end
  // too (the client read is bound to the drain signal, which the || operator's cancellation
  // does not reach).
  awaitable<void> then_close(awaitable<void> part) {
    co_await std::move(part);
    close();
  }

  void close() {
    boost::system::error_code ec;
    client_.socket().shutdown(tcp::socket::shutdown_both, ec);
    client_.close();
    upstream_.close();
    idle_timer_.cancel();
    client_free_.cancel();
    pipeline_room_.cancel();
    mute_timer_.cancel();
    in_.reserve_frame(0);  // a closed connection's request will never complete: free its share now
  }

  // The client socket has two writers: upstream_to_client (broker answers) and
  // client_to_upstream (the gateway's own answers, when nothing is in flight before them).
  // Both run on this thread; this keeps their writes, and a cut-through response's pieces,
  // from interleaving.
  awaitable<bool> acquire_client() {
    while (client_busy_) {
      if (!client_.socket().is_open()) co_return false;
      client_free_.expires_at(asio::steady_timer::time_point::max());
      co_await client_free_.async_wait(use_tuple);
    }
    client_busy_ = true;
    co_return client_.socket().is_open();
  }
  void release_client() {
    client_busy_ = false;
    client_free_.cancel();
  }

  // A write to the client in progress, for the watchdog (response_write_timeout): a client that
  // stops reading its socket holds the response it was sent for at most that long.
  struct client_write {
    session& s;
    explicit client_write(session& owner) : s(owner) {
      ++s.writes_started_;
      s.writing_ = true;
    }
    ~client_write() { s.writing_ = false; }
    client_write(const client_write&) = delete;
    client_write& operator=(const client_write&) = delete;
  };

  bool local_at_head() const { return inflight_.local_at_head(); }

  // Moves the gateway's own answers at the head of the queue into `out` (kept alive by `keep`
  // until written), in their turn.
  void take_local_answers(std::vector<asio::const_buffer>& out,
                          std::vector<std::shared_ptr<const std::vector<std::byte>>>& keep) {
    while (local_at_head()) {
      const auto& req = inflight_.front();
      keep.push_back(req.local);
      out.emplace_back(req.local->data(), req.local->size());
      if (w_.tap) w_.tap(req.api_key, req.version, protocol::bytes_view(*req.local).subspan(4));
      inflight_.pop_front();
    }
  }

  // Writes the gateway's own answers at the head of the queue (client_to_upstream's side).
  awaitable<bool> deliver_local_answers() {
    if (!co_await acquire_client()) co_return false;
    std::vector<asio::const_buffer> out;
    std::vector<std::shared_ptr<const std::vector<std::byte>>> keep;
    take_local_answers(out, keep);
    bool ok = true;
    if (!out.empty()) {
      const client_write writing(*this);
      auto [ec, n] = co_await client_.write(out);
      bytes_out_ += n;
      if (ec) {
        end("client write failed: " + ec.message(), false);
        ok = false;
      }
    }
    release_client();
    co_return ok;
  }

  // Who this connection's decisions are about (policies/decision.h).
  policies::decision_origin origin() const {
    return {&w_.decisions, live_->generation, l_.cfg.name, peer_, principal_.name, principal_.mechanism, &client_id_};
  }

  // The client handshake of this connection.
  client_handshake make_handshake() {
    return client_handshake(
        w_, l_, client_, in_, peer_, rewriter_, *live_, bytes_in_, bytes_out_, client_id_,
        [this]() -> awaitable<bool> { co_return co_await connect_upstream() && co_await fetch_cluster_versions(); },
        [this](std::string_view what, const std::string& detail) { auth_failed(what, detail); });
  }

  // A refused TLS handshake or SASL exchange: logged (rate-limited per address) and a decision.
  void auth_failed(std::string_view what, const std::string& detail) {
    w_.auth_log.failure(address_of(client_.socket()), what, detail);
    auto d = origin().event(policies::decision_kind::authentication_failed);
    d.principal = {};
    d.detail = detail;
    d.reason = what;
    if (w_.decisions.active()) w_.decisions.emit(d);
  }

  // Moves the session to a configuration generation: its principal's entry and policies. Only
  // between requests; responses to requests already sent keep the policies that authorized them.
  void adopt(std::shared_ptr<const live_config> gen) {
    if (gen->generation != live_->generation)
      log::relay().debug("{} {}: configuration generation {} applies from its next request", peer_,
                    principal_.kafka_name(), gen->generation);
    live_ = std::move(gen);
    principal_.known = live_->identities.find(principal_.name);
    resolve_quotas();
    policies_.reset();
    if (live_->policies) {
      policies_ = std::make_shared<policy_chain>(live_, principal_.name, w_.topic_ids, origin());
      if (policies_->empty()) policies_.reset();
    }
  }

  // The quotas of the principal's connections with this client id (quota_book::for_principal).
  void resolve_quotas() {
    quotas_.reset();
    if (live_->quotas)
      quotas_ = principal_.known ? live_->quotas->for_principal(*principal_.known, client_id_)
                                 : live_->quotas->for_principal(principal_.name, client_id_);
  }

  // Passes a response through the policy chain. unchanged: forward the body as it is (after the
  // address rewriter, if the response needs it and the chain did not decode it).
  rewrite_result govern_response(const inflight& req, protocol::bytes_view body, governed_response& g) {
    const response_context ctx{req.api_key, req.version, req.unsupported_api_versions};
    const std::size_t size_at = g.w.reserve_i32();
    auto st = req.policies->on_response(req.steps.get(), ctx, body, rewriter_, g);
    if (st == rewrite_status::rewritten) g.w.patch_i32(size_at, static_cast<std::int32_t>(g.w.size() - 4));
    return st;
  }

  // ApiVersions v0 on the gateway's own upstream connection, before any client request.
  awaitable<bool> fetch_cluster_versions() {
    try {
      auto ranges = co_await fetch_api_versions(upstream_, -1);
      w_.versions.update(std::move(ranges));
      co_return true;
    } catch (const std::exception& e) {
      upstream_failed(std::string("cannot learn the cluster's API versions: ") + e.what());
      co_return false;
    }
  }

  void end(std::string reason, bool warn) {
    if (end_reason_.empty()) {
      end_reason_ = std::move(reason);
      if (warn) log::relay().warn("{}: closing connection: {}", peer_, end_reason_);
    }
  }

  // Reads until the first request is whole: within the idle timeout for its first byte, then
  // within request_read_timeout. false: the client left, timed out or sent an impossible size.
  awaitable<bool> first_request() {
    asio::steady_timer deadline(w_.io);
    const auto idle = w_.cfg->idle_timeout;
    const auto read_timeout = w_.cfg->request_read_timeout;
    if (idle.count() > 0) deadline.expires_after(idle);
    else deadline.expires_at(asio::steady_timer::time_point::max());
    bool started = false;  // the deadline is the request's, from its first byte on
    for (;;) {
      const auto d = in_.data();
      const std::int64_t n = frame_size(d, 8);
      if (n < 0) {
        end(invalid_request_size(d), true);
        co_return false;
      }
      if (n > 0 && d.size() >= static_cast<std::size_t>(n) + 4) co_return true;
      const std::size_t need = n == 0 ? 4 : static_cast<std::size_t>(n) + 4;
      if (!co_await reserve_request_memory(need)) co_return false;
      if (!started && !d.empty()) {
        // Bytes are not activity (idle_watchdog): the idle deadline stands, and the request's own
        // may come sooner.
        started = true;
        if (read_timeout.count() > 0 && std::chrono::steady_clock::now() + read_timeout < deadline.expiry())
          deadline.expires_after(read_timeout);
      }
      auto r = co_await (client_.read_into(in_, need - std::min(need, d.size())) || deadline.async_wait(use_tuple));
      if (r.index() == 1) {
        if (started) {
          end("request not received whole within " + std::to_string(std::min(idle, read_timeout).count()) + " ms",
              true);
        } else {
          end("idle for " + std::to_string(idle.count()) + " ms before a first request", false);
          log::relay().info("{}: closing idle connection", peer_);
        }
        co_return false;
      }
      auto [ec, got] = std::get<0>(r);
      if (ec) co_return false;  // the client left (or the gateway is draining)
      bytes_in_ += got;
    }
  }

  std::string invalid_request_size(protocol::bytes_view d) const {
    return "invalid request frame size " + std::to_string(d.size() >= 4 ? read_be32(d.data()) : 0) + " (max " +
           std::to_string(w_.cfg->max_frame_bytes) + ")";
  }

  // An upstream failure ends the connection; its line is rate-limited per broker host (a broker
  // restart fails every connection through it at once).
  void upstream_failed(std::string reason) {
    if (!end_reason_.empty()) return;
    end_reason_ = std::move(reason);
    w_.upstream_log.failure(upstream_name_.empty() ? std::string("?") : upstream_name_, "upstream failure",
                            end_reason_ + " (client " + peer_ + ")");
  }

  awaitable<bool> connect_upstream() {
    const auto& cands = target_.candidates;
    if (cands.empty()) {
      log::relay().warn("{}: no upstream broker known for this port", peer_);
      co_return false;
    }
    const std::size_t start = target_.node_id ? 0 : w_.next_bootstrap++;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      const auto& c = cands[(start + i) % cands.size()];
      const auto done = co_await w_.connector.connect(upstream_, c);
      if (done) {
        upstream_name_ = c.str();
        if (w_.metrics) {
          w_.metrics->upstream_connected(upstream_name_);
          upstream_counted_ = true;
        }
        co_return true;
      }
      w_.upstream_log.failure(c.str(), "cannot connect", done.error() + " (client " + peer_ + ")");
      if (w_.metrics) w_.metrics->upstream_connect_failed(c.str());
    }
    co_return false;
  }

  // Size of the frame at the front of `d`, 0 if fewer than 4 bytes arrived, -1 if the size is
  // impossible: below `min` (a request header has 8 fixed bytes, a response 4) or above the limit.
  std::int64_t frame_size(protocol::bytes_view d, std::int32_t min) const {
    if (d.size() < 4) return 0;
    const std::int32_t n = read_be32(d.data());
    if (n < min || static_cast<std::size_t>(n) > w_.cfg->max_frame_bytes) return -1;
    return n;
  }

  awaitable<void> client_to_upstream() {
    std::vector<asio::const_buffer> out;
    std::vector<std::vector<std::byte>> replacements;  // small rewritten requests, alive until written
    // Lists, not deques: elements stay put as more are added, and an empty list holds no memory
    // (an empty std::deque holds ~600 bytes, for every idle connection).
    std::list<protocol::writer> authorized;  // requests with denied entries removed
    for (;;) {
      std::size_t used = 0;
      std::size_t need = 4;
      out.clear();
      replacements.clear();
      authorized.clear();
      // When the requests of this read were read: one clock reading per read, only for metrics.
      std::chrono::steady_clock::time_point received{};
      // Over a quota: the requests still buffered wait until then (quota_hold).
      std::chrono::steady_clock::time_point hold{};
      // The request at the end of the buffer, still arriving, goes on as it arrives.
      std::optional<request_info> cut;
      for (;;) {
        auto d = in_.data().subspan(used);
        const std::int64_t n = frame_size(d, 8);
        if (n < 0) {
          end(invalid_request_size(d), true);
          co_return;
        }
        if (n == 0 || d.size() < static_cast<std::size_t>(n) + 4) {
          need = n == 0 ? 4 : static_cast<std::size_t>(n) + 4;
          if (n > 0) cut = cut_through_candidate(d, need);
          break;
        }
        auto frame = d.subspan(0, static_cast<std::size_t>(n) + 4);
        if (quotas_ || muted_until_ != std::chrono::steady_clock::time_point{}) {
          hold = quota_hold(frame);
          if (hold != std::chrono::steady_clock::time_point{}) break;
        }
        if (!client_id_known_) {
          client_id_known_ = true;
          if (auto id = protocol::request_client_id(frame.subspan(4)); id && *id) client_id_ = std::string(**id);
          // Rules naming client ids apply from the connection's first request on.
          if (live_->quotas && live_->quotas->by_client_id()) resolve_quotas();
        }
        request_info info = inspect_request(frame.subspan(4));
        if (info.what == request_info::action::refuse) {
          end(info.reason, true);
          co_return;
        }
        std::shared_ptr<const response_steps> steps;
        bool traffic_reported = false;  // the chain reported this Produce's traffic on its decode
        // Between requests: a reloaded configuration applies from this request on.
        if (w_.live.generation() != live_->generation) adopt(w_.live.current());
        const std::chrono::milliseconds request_throttle = record_request_quota(received);
        if (w_.audit && info.what == request_info::action::forward &&
            (info.api_key == protocol::api::produce || info.api_key == protocol::api::fetch) &&
            !w_.audit->accepting()) {
          // audit.fail: closed and the trail cannot take events: no data is served.
          auto answer = policies::audit::unavailable_answer(info.api_key, info.api_version, frame.subspan(4));
          if (!answer) {
            end(answer.error(), true);
            co_return;
          }
          count_request(info.api_key);
          if (*answer)
            inflight_.answer_locally(info.correlation_id, info.api_key, info.api_version, std::move(**answer),
                                     request_throttle);
          used += frame.size();
          continue;
        }
        const std::shared_ptr<policy_chain> policies = policies_;
        if (policies && info.what == request_info::action::forward) {
          const auto body = frame.subspan(4);
          chain_request a = policies->on_request(info, body);
          if (a.what == chain_request::action::lookup_topic_ids) {
            co_await lookup_topic_ids(w_, peer_);
            if (!client_.socket().is_open()) co_return;
            a = policies->on_request(info, body, true);
          }
          if (a.what == chain_request::action::wait) {
            // Asked once more at most: then the policy decides with what it has.
            if (a.pending) co_await wait_for(*a.pending, w_.cfg->upstream_connect_timeout);
            if (!client_.socket().is_open()) co_return;
            a = policies->on_request(info, body, true, true);
            if (a.what == chain_request::action::wait) {
              end("a policy kept waiting for work it started", true);
              co_return;
            }
          }
          switch (a.what) {
            case chain_request::action::refuse:
              end(a.reason, true);
              co_return;
            case chain_request::action::drop:
              count_request(info.api_key);
              used += frame.size();
              continue;
            case chain_request::action::answer:
              count_request(info.api_key);
              inflight_.answer_locally(info.correlation_id, info.api_key, info.api_version, a.response,
                                       request_throttle);
              used += frame.size();
              continue;
            case chain_request::action::wait:  // handled above: never forwarded ungoverned
              end("a policy kept waiting for work it started", true);
              co_return;
            case chain_request::action::forward:
            case chain_request::action::lookup_topic_ids:
              if (a.rewritten) {
                // The new request borrows the received records; both live until written.
                auto& req = authorized.emplace_back(std::move(a.request));
                auto& size = replacements.emplace_back(4);
                write_be32(size.data(), static_cast<std::uint32_t>(req.size()));
                out.emplace_back(size.data(), size.size());
                for (auto sl : req.slices()) out.emplace_back(sl.data(), sl.size());
              } else {
                out.emplace_back(frame.data(), frame.size());
              }
              break;
          }
          steps = std::move(a.steps);
          traffic_reported = a.traffic_reported;
        } else if (info.what == request_info::action::replace) {
          auto& rep = replacements.emplace_back(4);
          write_be32(rep.data(), static_cast<std::uint32_t>(info.replacement.size()));
          rep.insert(rep.end(), info.replacement.begin(), info.replacement.end());
          out.emplace_back(rep.data(), rep.size());
        } else {
          out.emplace_back(frame.data(), frame.size());
        }
        count_request(info.api_key);
        if (info.api_key == protocol::api::produce && w_.decisions.wants_traffic() && !traffic_reported)
          report_produce(frame.subspan(4), info.api_version);
        const std::chrono::milliseconds produce_throttle =
            info.api_key == protocol::api::produce ? record_produce_quota(received, frame.size())
                                                   : std::chrono::milliseconds{0};
        const bool governed = expect_answer(info, std::move(steps), policies, std::max(produce_throttle, request_throttle),
                                            received);
        if (info.expects_response && info.api_key == protocol::api::fetch && w_.decisions.wants_traffic())
          note_fetch_positions(frame.subspan(4), info.api_version, governed);
        // Over the quota: this connection is muted from now (a broker mutes it once the response
        // is sent; the gateway knows the throttle already), and the principal's other
        // connections hold their produce requests as long (quota_limit::record).
        if (produce_throttle.count() > 0) throttle_client(policies::quota::quota_kind::produce, produce_throttle);
        used += frame.size();
      }
      if (!out.empty()) {
        auto [ec, _] = co_await upstream_.write(out);
        if (ec) {
          upstream_failed("upstream " + upstream_name_ + " write failed: " + ec.message());
          co_return;
        }
      }
      in_.consume(used);
      if (cut) {
        if (!co_await cut_through_request(*cut, need)) co_return;
        // That request went on whole. Walking it may have read the next requests into the
        // buffer: they are looked at before anything is read again.
        last_activity_ = std::chrono::steady_clock::now();
        request_started_ = {};
        continue;
      }
      if (in_.data().empty()) in_.shrink();
      // Only whole requests are activity: a request trickling in byte by byte does not keep an
      // idle connection (and the memory it holds) alive.
      if (used > 0) last_activity_ = std::chrono::steady_clock::now();
      // The gateway's own answers with nothing in flight before them go out now; the others
      // follow the broker's answers they queue behind (upstream_to_client).
      if (local_at_head() && !co_await deliver_local_answers()) co_return;
      if (draining_) co_return co_await wait_forever();
      if (hold != std::chrono::steady_clock::time_point{}) {
        // A quota holds the next request: wait, then look at the buffered requests again.
        mute_timer_.expires_at(hold);
        co_await mute_timer_.async_wait(use_tuple);
        if (!client_.socket().is_open()) co_return;
        continue;
      }
      while (inflight_.size() >= inflight_queue::max_pipelined) {
        if (!co_await wait_for_answers()) {
          if (draining_) co_return co_await wait_forever();
          co_return;
        }
      }
      if (!co_await reserve_request_memory(need)) {
        if (draining_) co_return co_await wait_forever();
        co_return;
      }
      if (used > 0) request_started_ = {};
      if (!in_.data().empty() && request_started_ == std::chrono::steady_clock::time_point{} &&
          w_.cfg->request_read_timeout.count() > 0) {
        // Part of a request is here: the rest must follow within request_read_timeout. The
        // watchdog learns of the new deadline.
        request_started_ = std::chrono::steady_clock::now();
        idle_timer_.cancel();
      }
      auto [ec, got] = co_await client_.read_into(in_, need - std::min(need, in_.data().size()),
                                                  std::numeric_limits<std::size_t>::max(), stop_reading_.slot());
      if (ec) {
        if (draining_) co_return co_await wait_forever();
        // A TLS client may close without close_notify (stream_truncated): still a clean leave.
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return co_await client_left();
        if (ec != asio::error::operation_aborted) end("client read failed: " + ec.message(), false);
        co_return;
      }
      bytes_in_ += got;
    }
  }

  // A request quota counts every request as it is read (KIP-124, as a rate), answered by the
  // broker or by the gateway; over it, the answer carries the throttle and this connection is
  // muted for it (at the end of this request's handling). `received`: set when first needed.
  std::chrono::milliseconds record_request_quota(std::chrono::steady_clock::time_point& received) {
    if (!quotas_ || !quotas_->requests) return std::chrono::milliseconds{0};
    if (received == std::chrono::steady_clock::time_point{}) received = std::chrono::steady_clock::now();
    const auto t = quotas_->requests->record(received, 1);
    if (t.count() > 0) throttle_client(policies::quota::quota_kind::request, t);
    return t;
  }
  // A produce quota counts the request as forwarded (KIP-13: the bytes a client writes).
  std::chrono::milliseconds record_produce_quota(std::chrono::steady_clock::time_point& received, std::size_t bytes) {
    if (!quotas_ || !quotas_->produce) return std::chrono::milliseconds{0};
    if (received == std::chrono::steady_clock::time_point{}) received = std::chrono::steady_clock::now();
    return quotas_->produce->record(received, bytes);
  }

  // Queues what the request's answer needs (or, acks=0, remembers its id). true: the chain
  // governs the answer.
  bool expect_answer(const request_info& info, std::shared_ptr<const response_steps> steps,
                     const std::shared_ptr<policy_chain>& policies, std::chrono::milliseconds throttle,
                     std::chrono::steady_clock::time_point& received) {
    if (!info.expects_response) {
      inflight_.expect_none(info.correlation_id);
      return false;
    }
    inflight req;
    req.throttle = throttle;
    if (w_.metrics) {
      if (received == std::chrono::steady_clock::time_point{}) received = std::chrono::steady_clock::now();
      req.received = received;
    }
    req.correlation_id = info.correlation_id;
    req.api_key = info.api_key;
    req.version = info.upstream_version;
    req.unsupported_api_versions = info.unsupported_api_versions;
    req.govern = policies && (steps || policies->governs_responses(info.api_key));
    req.steps = std::move(steps);
    if (req.govern) req.policies = policies;
    const bool governed = req.govern;
    inflight_.expect(std::move(req));
    return governed;
  }

  // A Produce request still arriving (`d` holds its head, `frame_bytes` its whole size) that
  // nothing in the gateway reads goes on as it arrives, like a large response: no policy asks
  // for Produce requests, no quota holds it now (quotas count it by its size, known from the
  // start), the audit trail takes events, no tap, plain TCP on both sides (its rest is spliced
  // socket to socket), and the request header and acks have arrived. Where metrics or the audit trail count traffic, protocol::produce_scanner walks its
  // structure and batch headers as they pass (v3-v11). It is then never held whole in memory
  // (no request memory reservation). nullopt: it is buffered and handled whole, as every other
  // request.
  std::optional<request_info> cut_through_candidate(protocol::bytes_view d, std::size_t frame_bytes) {
    if (frame_bytes < frame_buffer::min_read || d.size() < 64 || read_be16(d.data() + 4) != protocol::api::produce)
      return std::nullopt;
    if (client_.tls() || upstream_.tls() || w_.tap || draining_ || (w_.audit && !w_.audit->accepting()))
      return std::nullopt;
    if (w_.live.generation() != live_->generation) adopt(w_.live.current());  // between requests, as below
    if (!client_id_known_) {
      client_id_known_ = true;
      if (auto id = protocol::request_client_id(d.subspan(4)); id && *id) client_id_ = std::string(**id);
      if (live_->quotas && live_->quotas->by_client_id()) resolve_quotas();
    }
    if (quota_hold(d) != std::chrono::steady_clock::time_point{}) return std::nullopt;  // waits, as below
    if (policies_ && policies_->reads_requests(protocol::api::produce)) return std::nullopt;
    // The head may end inside the header: then it is handled whole (inspect again, complete).
    request_info info = inspect_request(d.subspan(4));
    if (info.what != request_info::action::forward || !splice_requests_.open()) return std::nullopt;
    if (w_.decisions.wants_traffic() && (info.api_version < 3 || info.api_version > 11)) return std::nullopt;
    return info;
  }

  // Sends the buffered head of a cut_through_candidate, then splices the rest of its
  // frame_bytes from the client to the broker. false: the session ends.
  awaitable<bool> cut_through_request(const request_info& info, std::size_t frame_bytes) {
    if (request_started_ == std::chrono::steady_clock::time_point{} && w_.cfg->request_read_timeout.count() > 0) {
      // Its head came with the last read: the rest must follow within request_read_timeout.
      request_started_ = std::chrono::steady_clock::now();
      idle_timer_.cancel();
    }
    count_request(info.api_key);
    std::chrono::steady_clock::time_point received{};
    const auto request_throttle = record_request_quota(received);
    const auto produce_throttle = record_produce_quota(received, frame_bytes);
    expect_answer(info, nullptr, policies_, std::max(produce_throttle, request_throttle), received);
    // Over the produce quota: muted from now, as for a request read whole.
    if (produce_throttle.count() > 0) throttle_client(policies::quota::quota_kind::produce, produce_throttle);
    if (w_.decisions.wants_traffic()) co_return co_await cut_through_counted(info, frame_bytes);
    const auto head = in_.data();
    auto [ec, _] = co_await upstream_.write(asio::buffer(head.data(), head.size()));
    if (ec) {
      upstream_failed("upstream " + upstream_name_ + " write failed: " + ec.message());
      co_return false;
    }
    std::size_t left = frame_bytes - head.size();
    in_.consume(head.size());
    in_.release();
    co_return co_await splice_request_bytes(left);
  }

  // cut_through_request where traffic is counted: what has arrived is walked and sent, a batch
  // body that has not arrived yet is spliced, and the topics' bytes and records are reported
  // once the whole request went on (a request cut short counts nothing). A malformed request
  // goes on unread from there (the broker refuses it), uncounted, as report_produce does.
  awaitable<bool> cut_through_counted(const request_info& info, std::size_t frame_bytes) {
    protocol::produce_scanner sc(info.api_version, frame_bytes - 4);
    std::size_t off = 4;   // of in_.data(): scanned, not yet sent (the size prefix first)
    std::size_t sent = 0;  // of the frame
    auto send_scanned = [&]() -> awaitable<bool> {
      if (off == 0) co_return true;
      const auto d = in_.data().first(off);
      auto [ec, _] = co_await upstream_.write(asio::buffer(d.data(), d.size()));
      if (ec) {
        upstream_failed("upstream " + upstream_name_ + " write failed: " + ec.message());
        co_return false;
      }
      in_.consume(off);
      sent += off;
      off = 0;
      co_return true;
    };
    for (;;) {
      const auto st = sc.next(in_.data().subspan(off));
      switch (st.what) {
        case protocol::produce_scanner::kind::structure:
          off += st.bytes;
          break;
        case protocol::produce_scanner::kind::opaque: {
          const std::size_t here = std::min(st.bytes, in_.data().size() - off);
          off += here;
          if (here == st.bytes) break;
          if (!co_await send_scanned()) co_return false;
          in_.release();
          if (!co_await splice_request_bytes(st.bytes - here)) co_return false;
          sent += st.bytes - here;
          break;
        }
        case protocol::produce_scanner::kind::need_more:
          if (!co_await send_scanned()) co_return false;
          // Structure is small, but a hostile tagged field need not be: what must be held
          // whole is reserved as a whole request would be.
          if (!co_await reserve_request_memory(st.bytes)) co_return false;
          while (in_.data().size() < st.bytes) {
            auto [ec, got] = co_await client_.read_into(in_, st.bytes - in_.data().size());
            if (ec) {
              end(ec == asio::error::eof ? std::string("client closed the connection in the middle of a request")
                                         : "client read failed: " + ec.message(),
                  false);
              co_return false;
            }
            bytes_in_ += got;
          }
          break;
        case protocol::produce_scanner::kind::done:
          if (!co_await send_scanned()) co_return false;
          for (const auto& t : sc.tallies())
            if (t.bytes > 0 || t.records > 0)
              report_traffic(protocol::api::produce, info.api_version, t.name, t.bytes, t.records);
          co_return true;
        case protocol::produce_scanner::kind::failed: {
          const std::size_t buffered = std::min(in_.data().size(), frame_bytes - sent);
          off = buffered;
          const std::size_t rest = frame_bytes - sent - buffered;
          if (!co_await send_scanned()) co_return false;
          in_.release();
          co_return co_await splice_request_bytes(rest);
        }
      }
    }
  }

  // The next `left` bytes of a request, client socket to broker socket. false: the session ends.
  awaitable<bool> splice_request_bytes(std::size_t left) {
    if (left == 0) co_return true;
    std::uint64_t moved_bytes = 0;  // bytes_in_ counts what was read into the buffer; these here
    const auto moved = co_await splice_requests_.move(upstream_.socket(), client_.socket(), left, upstream_name_,
                                                      {last_activity_, moved_bytes, w_.spliced_bytes},
                                                      splice_relay::direction::to_upstream);
    bytes_in_ += moved_bytes;
    if (!moved.ok) {
      if (!moved.reason.empty()) end(moved.reason, moved.warn);
      co_return false;
    }
    co_return true;
  }

  // Waits until upstream_to_client has sent answers (see inflight_queue::max_pipelined). false: the
  // session ended or is draining.
  awaitable<bool> wait_for_answers() {
    waiting_for_answers_ = true;
    pipeline_room_.expires_at(asio::steady_timer::time_point::max());
    co_await pipeline_room_.async_wait(asio::bind_cancellation_slot(stop_reading_.slot(), use_tuple));
    waiting_for_answers_ = false;
    co_return client_.socket().is_open() && !draining_;
  }

  // A request larger than every connection's base buffer reserves its size from the
  // process-wide budget (gateway.max_buffered_requests) before more of it is read; while there
  // is no room, this connection stops reading (its TCP window fills, as when a broker mutes a
  // channel) and retries. false: the session ended meanwhile.
  awaitable<bool> reserve_request_memory(std::size_t frame_bytes) {
    if (in_.reserve_frame(frame_bytes)) co_return true;
    log::relay().debug("{}: a {}-byte request waits for memory ({} of {} bytes reserved)", peer_, frame_bytes,
                  w_.request_memory->used(), w_.request_memory->limit());
    asio::steady_timer retry(w_.io);
    while (!in_.reserve_frame(frame_bytes)) {
      retry.expires_after(std::chrono::milliseconds(10));
      auto [ec] = co_await retry.async_wait(asio::bind_cancellation_slot(stop_reading_.slot(), use_tuple));
      if (ec || !client_.socket().is_open()) co_return false;
    }
    co_return true;
  }

  // The client closed its side. Pass the close on as a FIN, not a reset: closing a socket with
  // unread input (say, an answer to acks=0 Produce) sends RST, and a broker drops whatever it
  // had not yet read (the client's last acks=0 records). Then give the broker a moment to read
  // everything and close; upstream_to_client ends the session when it does.
  awaitable<void> client_left() {
    client_eof_ = true;
    boost::system::error_code ec;
    upstream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    asio::steady_timer linger(w_.io, std::chrono::seconds(5));
    co_await linger.async_wait(use_tuple);
  }

  // Lets the other direction finish its work (drain): completes only when cancelled.
  awaitable<void> wait_forever() {
    asio::steady_timer t(w_.io, asio::steady_timer::time_point::max());
    co_await t.async_wait(use_tuple);
  }

  enum class match { ok, stray, fail };
  // Checks the response at the front of `d` (at least 8 bytes) against the oldest request and
  // takes that request off the queue. stray: an answer to an acks=0 Produce, which Kafka never
  // sends but some brokers (librdkafka's mock) do; the client expects nothing, so it is dropped.
  // fail: the connection must end (reason recorded).
  match match_response(protocol::bytes_view d, inflight& req) {
    const std::int32_t corr = read_be32(d.data() + 4);
    switch (inflight_.take(corr, req)) {
      case inflight_queue::match::ok:
        if (w_.metrics && req.received != std::chrono::steady_clock::time_point{})
          w_.metrics->observe_latency(req.api_key, std::chrono::steady_clock::now() - req.received);
        apply_quota(d, req);
        return match::ok;
      case inflight_queue::match::stray:
        log::relay().debug("{}: dropped a response to acks=0 Produce (correlation id {})", peer_, corr);
        return match::stray;
      case inflight_queue::match::unsolicited:
        end("unsolicited response (correlation id " + std::to_string(corr) + ") from " + upstream_name_, true);
        return match::fail;
      case inflight_queue::match::mismatch:
        end("response correlation id " + std::to_string(corr) + " does not match the oldest request (" +
                std::to_string(req.correlation_id) + ")",
            true);
        return match::fail;
    }
    return match::fail;
  }

  // The principal's connection limits (quotas max_connections / connections_per_second), checked
  // once it is known: over them the connection is closed, as a broker closes one over its
  // limits; logged (rate-limited per address) and counted.
  bool admit_principal() {
    if (!quotas_ || !w_.connection_limits || (!quotas_->max_connections && !quotas_->connections_per_second))
      return true;
    policies::quota::connection_limits::limits l{quotas_->max_connections, quotas_->connections_per_second,
                                                  live_->quotas->samples(), live_->quotas->window()};
    const auto v = w_.connection_limits->admit_principal(principal_.name, l, std::chrono::steady_clock::now());
    if (v == policies::quota::connection_limits::verdict::admitted) {
      principal_counted_ = true;
      return true;
    }
    const char* why = policies::quota::connection_limits::reason(v);
    w_.auth_log.failure(address_of(client_.socket()), "connection refused",
                        "principal " + principal_.kafka_name() + " is over its quotas " + why);
    if (w_.metrics) w_.metrics->connection_refused(l_.cfg.name, "principal", why);
    end(std::string("principal over its quotas ") + why, false);
    return false;
  }

  // A response's share of its quotas: a Fetch counts its size against the fetch quota now (its
  // header is in `d`, the rest may still be on its way) and mutes the client from now if over;
  // a request carries the throttle it earned (produce bytes, request rate; muted at already).
  // throttle_time_ms in the response becomes the larger of the broker's and the gateway's (in
  // place, where the bytes in hand hold it).
  void apply_quota(protocol::bytes_view d, const inflight& req) {
    if (!quotas_) return;
    std::chrono::milliseconds t = req.throttle;
    if (req.api_key == protocol::api::fetch && quotas_->fetch) {
      const auto size = static_cast<std::size_t>(static_cast<std::uint32_t>(read_be32(d.data()))) + 4;
      const auto f = quotas_->fetch->record(std::chrono::steady_clock::now(), size);
      if (f.count() > 0) throttle_client(policies::quota::quota_kind::fetch, f);
      t = std::max(t, f);
    }
    if (t.count() <= 0) return;
    const auto ms = static_cast<std::int32_t>(std::min<std::int64_t>(t.count(), 0x7fffffff));
    if (const auto at = protocol::throttle_offset(req.api_key, req.version, d))
      protocol::raise_throttle(up_.writable(d), *at, ms);
  }

  // Until when the request in `frame` must wait: the connection is muted (over a quota, as a
  // broker mutes a throttled client's channel, KIP-219), or it is a Produce or Fetch while the
  // principal is over that quota on any of its connections ("not forwarded until the throttle
  // passes"). The epoch: go ahead.
  std::chrono::steady_clock::time_point quota_hold(protocol::bytes_view frame) {
    const auto now = std::chrono::steady_clock::now();
    auto until = muted_until_ > now ? muted_until_ : std::chrono::steady_clock::time_point{};
    if (until == std::chrono::steady_clock::time_point{}) muted_until_ = {};  // served: no clock per frame after it
    if (quotas_ && frame.size() >= 6) {
      const std::int16_t key = read_be16(frame.data() + 4);
      const policies::quota::quota_limit* q = key == protocol::api::produce ? (quotas_->produce ? &*quotas_->produce : nullptr)
                                              : key == protocol::api::fetch ? (quotas_->fetch ? &*quotas_->fetch : nullptr)
                                                                            : nullptr;
      if (q) {
        const auto blocked = q->meter->blocked_until();
        if (blocked > now && blocked > until) until = blocked;
      }
    }
    return until;
  }

  void throttle_client(policies::quota::quota_kind kind, std::chrono::milliseconds t) {
    muted_until_ = std::max(muted_until_, std::chrono::steady_clock::now() + t);
    if (w_.metrics) w_.metrics->add_throttle(principal_.name, policies::quota::kind_name(kind), t);
  }

  void tap_chunk(const inflight& req, protocol::bytes_view chunk, bool last) {
    if (!w_.tap) return;
    tap_frame_.insert(tap_frame_.end(), chunk.begin(), chunk.end());
    if (last) {
      w_.tap(req.api_key, req.version, protocol::bytes_view(tap_frame_).subspan(4));
      tap_frame_.clear();
    }
  }

  // Responses at least this large that need no inspection are cut through: forwarded as their
  // bytes arrive instead of after the whole frame (a consumer has one Fetch in flight per
  // broker, so store-and-forward would add a frame's transfer time to every fetch).
  static constexpr std::size_t cut_through_min = 16 * 1024;

  awaitable<void> upstream_to_client() {
    std::vector<asio::const_buffer> out;
    // Alive until written; lists for the reason client_to_upstream gives.
    std::list<protocol::writer> rewritten;
    std::list<governed_response> governed;
    std::list<std::vector<std::byte>> trailers;  // rewritten Fetch trailers
    std::vector<std::shared_ptr<const std::vector<std::byte>>> locals;  // alive until written
    std::size_t& passthrough_left = passthrough_left_;
    inflight passthrough_req{};
    bool holding = false;  // this side holds the client socket (see acquire_client)
    for (;;) {
      std::size_t used = 0;
      std::size_t need = 4;
      out.clear();
      rewritten.clear();
      if (policies_)
        for (auto& g : governed) policies_->recycle(g);
      governed.clear();
      locals.clear();
      trailers.clear();
      for (;;) {
        auto d = up_.data().subspan(used);
        if (passthrough_left > 0) {
          const std::size_t n = std::min(d.size(), passthrough_left);
          if (n == 0) break;
          out.emplace_back(d.data(), n);
          passthrough_left -= n;
          used += n;
          tap_chunk(passthrough_req, d.subspan(0, n), passthrough_left == 0 && !scan_);
          continue;
        }
        if (scan_) {  // inside a Fetch response streaming through (see stream_fetch)
          const auto [st, bytes] = stream_fetch(d, out, trailers, passthrough_req, passthrough_left);
          if (st == stream_step::fail) co_return;
          if (st == stream_step::wait) {
            need = bytes;
            break;
          }
          used += bytes;
          continue;
        }
        take_local_answers(out, locals);  // the gateway's own answers whose turn has come
        const std::int64_t len = frame_size(d, 4);
        if (len < 0) {
          end("invalid response frame size " + std::to_string(read_be32(d.data())) + " from " + upstream_name_, true);
          co_return;
        }
        const std::size_t frame_len = static_cast<std::size_t>(len) + 4;
        if (len == 0 || d.size() < frame_len) {
          if (len > 0 && frame_len >= cut_through_min && d.size() >= 8 && !inflight_.empty() &&
              inflight_.front().correlation_id == read_be32(d.data() + 4) && !inflight_.front().govern) {
            const auto& next = inflight_.front();
            // Traffic per topic wanted: a Fetch response of any version streams through the
            // scanner, which tallies it.
            const bool tally = next.api_key == protocol::api::fetch && w_.decisions.wants_traffic();
            if (!tally && !response_needs_inspection(next.api_key, next.version)) {
              if (match_response(d, passthrough_req) != match::ok) co_return;
              out.emplace_back(d.data(), d.size());
              passthrough_left = frame_len - d.size();
              used += d.size();
              tap_chunk(passthrough_req, d, false);
              continue;
            }
            if (next.api_key == protocol::api::fetch && (next.version >= 12 || tally)) {
              // Streams too: only its structure is read, its records relayed or spliced unread.
              if (match_response(d, passthrough_req) != match::ok) co_return;
              out.emplace_back(d.data(), 4);
              used += 4;
              tap_chunk(passthrough_req, d.subspan(0, 4), false);
              scan_.emplace(passthrough_req.version, static_cast<std::size_t>(len), tally);
              continue;
            }
          }
          need = len == 0 ? 4 : frame_len;
          break;
        }
        auto frame = d.subspan(0, frame_len);
        auto body = frame.subspan(4);
        inflight req;
        if (body.size() < 4) {
          end("response shorter than its correlation id from " + upstream_name_, true);
          co_return;
        }
        const match m = match_response(frame, req);
        if (m == match::fail) co_return;
        if (m == match::stray) {
          used += frame.size();
          continue;
        }
        bool addresses_done = false;  // the chain rewrote them on its decode
        bool tally = req.api_key == protocol::api::fetch && w_.decisions.wants_traffic();
        if (req.govern) {
          auto& g = governed.emplace_back();
          const auto status = govern_response(req, body, g);
          if (!status) {
            end(api_name(req.api_key) + " v" + std::to_string(req.version) + ": " + status.error(), true);
            co_return;
          }
          if (tally && !g.traffic_reported) report_fetch(req.version, body);
          tally = false;
          if (status == rewrite_status::rewritten) {
            for (auto sl : g.w.slices()) out.emplace_back(sl.data(), sl.size());
            if (w_.tap) {
              auto flat = g.w.flatten();
              w_.tap(req.api_key, req.version, protocol::bytes_view(flat).subspan(4));
            }
            used += frame.size();
            continue;
          }
          addresses_done = g.addresses_done;
        }
        if (tally) report_fetch(req.version, body);
        if (!addresses_done && response_needs_inspection(req.api_key, req.version)) {
          auto& wr = rewritten.emplace_back();
          const std::size_t size_at = wr.reserve_i32();
          const auto status = rewriter_.rewrite({req.api_key, req.version, req.unsupported_api_versions}, body, wr);
          if (!status) {
            end(api_name(req.api_key) + " v" + std::to_string(req.version) + ": " + status.error(), true);
            co_return;
          }
          if (status == rewrite_status::rewritten) {
            wr.patch_i32(size_at, static_cast<std::int32_t>(wr.size() - 4));
            for (auto s : wr.slices()) out.emplace_back(s.data(), s.size());
            if (w_.tap) {
              auto flat = wr.flatten();
              w_.tap(req.api_key, req.version, protocol::bytes_view(flat).subspan(4));
            }
            used += frame.size();
            continue;
          }
        }
        if (w_.tap) w_.tap(req.api_key, req.version, body);
        out.emplace_back(frame.data(), frame.size());
        used += frame.size();
      }
      if (!out.empty()) {
        // Held across a cut-through response's pieces, released once it is complete.
        if (!holding && !(holding = co_await acquire_client())) co_return;
        const client_write writing(*this);
        auto [ec, written] = co_await client_.write(out);
        if (!mid_response()) {
          release_client();
          holding = false;
        }
        if (ec && !client_eof_) {
          end("client write failed: " + ec.message(), false);
          co_return;
        }
        bytes_out_ += written;  // after the client left, answers are read and dropped (see client_left)
      }
      up_.consume(used);
      if (up_.data().empty()) up_.shrink();
      if (waiting_for_answers_ && inflight_.size() < inflight_queue::max_pipelined) pipeline_room_.cancel();
      if (passthrough_left >= cut_through_min && up_.data().empty() && !w_.tap && !client_.tls() && !upstream_.tls() &&
          splice_.open()) {
        // The rest of this response moves socket to socket inside the kernel.
        if (!holding && !(holding = co_await acquire_client())) co_return;
        const client_write writing(*this);
        const auto moved = co_await splice_.move(upstream_.socket(), client_.socket(), passthrough_left,
                                                 upstream_name_, {last_activity_, bytes_out_, w_.spliced_bytes});
        release_client();
        holding = false;
        if (!moved.ok) {
          if (!moved.reason.empty()) end(moved.reason, moved.warn);
          co_return;
        }
        continue;
      }
      if (!mid_response() && local_at_head()) continue;  // answers queued while writing
      if (draining_ && inflight_.empty() && !mid_response()) {
        end("gateway shutting down", false);
        co_return;
      }
      // Read at most what completes the current frame (or 64 KiB): the rest of a large
      // pass-through response is then spliced rather than copied through this buffer.
      const std::size_t want = need - std::min(need, up_.data().size());
      auto [ec, got] = co_await upstream_.read_into(up_, want, std::max(want, frame_buffer::min_read));
      if (ec) {
        if (client_eof_ && ec == asio::error::eof) co_return;  // the broker saw the client's close
        if (ec != asio::error::operation_aborted)
          upstream_failed("upstream " + upstream_name_ + " closed the connection" +
                          (ec == asio::error::eof ? std::string() : ": " + ec.message()));
        co_return;
      }
      last_activity_ = std::chrono::steady_clock::now();
    }
  }

  bool mid_response() const { return passthrough_left_ > 0 || scan_.has_value(); }

  enum class stream_step { forward, wait, fail };
  struct stream_result {
    stream_step step;
    std::size_t bytes = 0;  // forward: bytes of `d` that went to `out`; wait: bytes to buffer first
  };

  // One step of a Fetch response streaming through (scan_ set, `d` the bytes buffered from its
  // position): structure is forwarded as it is, a records payload becomes `passthrough_left`
  // (relayed from the buffer, then spliced), and the trailing tagged fields are rewritten in
  // place, at the same length since the frame's size has gone out (address_rewriter.h).
  stream_result stream_fetch(protocol::bytes_view d, std::vector<asio::const_buffer>& out,
                           std::list<std::vector<std::byte>>& trailers, const inflight& req, std::size_t& passthrough_left) {
    using kind = protocol::fetch_scanner::kind;
    const auto s = scan_->next(d);
    switch (s.what) {
      case kind::structure:
        out.emplace_back(d.data(), s.bytes);
        tap_chunk(req, d.subspan(0, s.bytes), false);
        return {stream_step::forward, s.bytes};
      case kind::opaque:
        passthrough_left = s.bytes;
        return {stream_step::forward, 0};
      case kind::need_more:
        return {stream_step::wait, s.bytes};
      case kind::trailer: {
        if (s.bytes == 0) {  // before v12, or relayed with the last topic: the response is complete
          report_tallies(req.version, scan_->tallies());
          scan_.reset();
          tap_chunk(req, {}, true);
          return {stream_step::forward, 0};
        }
        if (d.size() < s.bytes) return {stream_step::wait, s.bytes};
        report_tallies(req.version, scan_->tallies());
        const auto trailer = d.subspan(0, s.bytes);
        auto& rewritten = trailers.emplace_back();
        const auto st = rewriter_.rewrite_fetch_trailer(req.version, trailer, true, rewritten);
        if (!st) {
          end("Fetch v" + std::to_string(req.version) + ": " + st.error(), true);
          return {stream_step::fail};
        }
        const auto sent = st == rewrite_status::rewritten ? protocol::bytes_view(rewritten) : trailer;
        out.emplace_back(sent.data(), sent.size());
        scan_.reset();
        tap_chunk(req, sent, true);
        return {stream_step::forward, s.bytes};
      }
      case kind::failed:
        break;
    }
    end("malformed Fetch v" + std::to_string(req.version) + " response from " + upstream_name_ + ": " +
            scan_->error() + " at byte " + std::to_string(scan_->position()),
        true);
    return {stream_step::fail};
  }

  // Traffic decisions (wants_traffic): what this principal sent per topic in a Produce request
  // and received per topic in a Fetch response, in bytes of records and records.
  void report_traffic(std::int16_t api, std::int16_t version, std::string_view topic, std::uint64_t bytes,
                      std::uint64_t records) {
    origin().traffic(api, version, topic, bytes, records);
  }

  void report_produce(protocol::bytes_view body, std::int16_t version) {
    std::string_view topic;
    std::uint64_t bytes = 0, records = 0;
    // A request names each topic once; its partitions come together.
    (void)protocol::walk_produce(version, body, [&](std::string_view t, protocol::bytes_view r) {
      if (t != topic && (bytes > 0 || records > 0)) {
        report_traffic(protocol::api::produce, version, topic, bytes, records);
        bytes = records = 0;
      }
      topic = t;
      bytes += r.size();
      records += protocol::count_records(r);
    });
    if (bytes > 0) report_traffic(protocol::api::produce, version, topic, bytes, records);
  }

  // A whole Fetch response in the buffer: its structure walked, its records not decoded.
  void report_fetch(std::int16_t version, protocol::bytes_view body) {
    using kind = protocol::fetch_scanner::kind;
    protocol::fetch_scanner scan(version, body.size(), true);
    for (;;) {
      const auto st = scan.next(body.subspan(scan.position()));
      if (st.what == kind::trailer) return report_tallies(version, scan.tallies());
      if (st.what != kind::structure && st.what != kind::opaque) return;  // malformed: the relay's to say
    }
  }

  // A Fetch response relayed without decoding: each topic's bytes from the scanner, its records
  // from what the consumer moved past since (note_fetch_positions).
  void report_tallies(std::int16_t version, const std::vector<protocol::fetch_scanner::topic_tally>& tallies) {
    if (!w_.decisions.wants_traffic()) return;
    for (const auto& t : tallies) {
      if (t.bytes == 0) continue;
      const std::string* name = version < 13 ? nullptr : w_.topic_ids.name(t.id);
      const std::string_view topic = version < 13 ? std::string_view(t.name)
                                     : name     ? std::string_view(*name)
                                                : std::string_view("(unknown topic id)");
      report_traffic(protocol::api::fetch, version, topic, t.bytes, take_consumed(topic));
    }
  }

  // Records of pass-through Fetch responses are counted from the consumer's positions: what a
  // Fetch asks for next minus what the one before asked for, per partition, is what it consumed
  // (offsets: a compacted topic's gaps and transaction markers count too). Counting them in the
  // responses would stop at every batch header and copy what is spliced today. Fetches the chain
  // governs (it counts the records it delivers) move the positions without counting.
  void note_fetch_positions(protocol::bytes_view body, std::int16_t version, bool governed) {
    (void)protocol::walk_fetch(
        version, body, [&](std::string_view topic, const protocol::uuid& id, std::int32_t partition, std::int64_t offset) {
          position_key_.assign(version < 13 ? topic : std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
          position_key_.push_back(version < 13 ? 'n' : 'i');
          position_key_.append(reinterpret_cast<const char*>(&partition), sizeof partition);
          auto [it, fresh] = positions_.try_emplace(position_key_, fetch_position{offset, governed});
          if (fresh) {
            if (positions_.size() > 100000) positions_.clear();  // bounded: a few partitions' first fetch uncounted
            return;
          }
          fetch_position& was = it->second;
          if (offset > was.offset && !was.governed && !governed) {
            const std::string* name = version < 13 ? nullptr : w_.topic_ids.name(id);
            add_consumed(version < 13 ? topic : name ? std::string_view(*name) : std::string_view("(unknown topic id)"),
                         static_cast<std::uint64_t>(offset - was.offset));
          }
          was = {offset, governed};
        });
  }

  void add_consumed(std::string_view topic, std::uint64_t n) {
    for (auto& [t, c] : consumed_)
      if (t == topic) {
        c += n;
        return;
      }
    consumed_.emplace_back(std::string(topic), n);
  }
  std::uint64_t take_consumed(std::string_view topic) {
    for (auto& [t, c] : consumed_)
      if (t == topic) return std::exchange(c, 0);
    return 0;
  }
  // The session ends: records consumed since the last response counted go out without bytes.
  void report_consumed() {
    for (auto& [t, c] : consumed_)
      if (c > 0) report_traffic(protocol::api::fetch, -1, t, 0, std::exchange(c, 0));
  }

  // Ends the connection when it has been idle too long (no whole request, no response), when a
  // request has started to arrive and is not whole within request_read_timeout, or when one write
  // of responses to the client has not completed within response_write_timeout (the client
  // stopped reading: what it was sent is not held for ever). Writes are not timed one by one
  // (a timer per response): the watchdog looks every half timeout, and a write it saw at one
  // look and still sees a timeout later ends the connection (after 1 to 1.5 timeouts).
  awaitable<void> idle_watchdog() {
    const auto idle = w_.cfg->idle_timeout;
    const auto read_timeout = w_.cfg->request_read_timeout;
    const auto write_timeout = w_.cfg->response_write_timeout;
    if (idle.count() == 0 && read_timeout.count() == 0 && write_timeout.count() == 0)
      co_return co_await wait_forever();
    std::uint64_t seen_write = 0;  // writes_started_ when the write in progress was first seen
    std::chrono::steady_clock::time_point seen_at{};
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      auto deadline = idle.count() > 0 ? last_activity_ + idle : asio::steady_timer::time_point::max();
      if (now >= deadline) {
        end("idle for " + std::to_string(idle.count()) + " ms", false);
        log::relay().info("{}: closing idle connection", peer_);
        co_return;
      }
      if (read_timeout.count() > 0 && request_started_ != std::chrono::steady_clock::time_point{}) {
        const auto by = request_started_ + read_timeout;
        if (now >= by) {
          end("request not received whole within " + std::to_string(read_timeout.count()) + " ms", true);
          co_return;
        }
        deadline = std::min(deadline, by);
      }
      if (write_timeout.count() > 0) {
        if (!writing_) {
          seen_at = {};
        } else if (seen_at == std::chrono::steady_clock::time_point{} || seen_write != writes_started_) {
          seen_write = writes_started_;
          seen_at = now;
        } else if (now - seen_at >= write_timeout) {
          end("the client took no response for " + std::to_string(write_timeout.count()) + " ms", true);
          co_return;
        }
        deadline = std::min(deadline, now + write_timeout / 2);
      }
      idle_timer_.expires_at(deadline);
      co_await idle_timer_.async_wait(use_tuple);  // woken by the deadline or by close()
      if (!client_.socket().is_open()) co_return;
      if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) co_return;
    }
  }

  worker& w_;
  const listener_runtime& l_;
  address_rewriter& rewriter_;  // the worker's, for this listener
  byte_stream client_;
  byte_stream upstream_;
  authenticated_principal principal_;
  upstream_target target_;
  asio::steady_timer idle_timer_;
  asio::steady_timer client_free_;  // wakes a writer waiting for the client socket
  asio::steady_timer pipeline_room_;  // wakes client_to_upstream waiting for answers to go out
  bool waiting_for_answers_ = false;
  asio::cancellation_signal stop_reading_;
  std::string peer_;
  std::string upstream_name_;
  std::string end_reason_;
  frame_buffer in_;  // client -> upstream
  frame_buffer up_;  // upstream -> client
  inflight_queue inflight_;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point request_started_{};  // a partial request's first read; epoch: none
  bool writing_ = false;             // a write to the client is in progress (client_write)
  std::uint64_t writes_started_ = 0;  // writes to the client so far
  bool draining_ = false;
  bool client_eof_ = false;  // the client closed its side; upstream is being wound down
  std::uint64_t requests_ = 0, bytes_in_ = 0, bytes_out_ = 0;  // for the close log line and metrics
  struct fetch_position {
    std::int64_t offset;
    bool governed;
  };
  std::unordered_map<std::string, fetch_position> positions_;  // (topic, partition) -> last fetch offset
  std::string position_key_;
  std::vector<std::pair<std::string, std::uint64_t>> consumed_;  // per topic, not yet reported
  std::string client_id_;         // from the handshake's or the first request's header
  bool client_id_known_ = false;  // the first request after authentication was looked at
  metrics::session_counts published_;                          // what publish_counts() passed on
  std::vector<std::uint32_t> requests_by_key_;  // since the last publish, by API key slot (metrics on)
  std::shared_ptr<const policies::quota::principal_quotas> quotas_;  // null: no quota applies
  std::chrono::steady_clock::time_point muted_until_{};  // over a quota: reads wait until then
  asio::steady_timer mute_timer_;
  std::string counted_address_;     // counted in the worker's connection limits: released at the end
  bool principal_counted_ = false;  // the same for the principal
  connection_slot slot_;            // of the listener's and the gateway's max_connections
  bool upstream_counted_ = false;   // its upstream connection is in the metrics' open gauge
  std::size_t passthrough_left_ = 0;  // bytes of a cut-through response still to come
  std::optional<protocol::fetch_scanner> scan_;  // a Fetch response streaming through
  splice_relay splice_;           // large pass-through responses, socket to socket
  splice_relay splice_requests_;  // large Produce requests nothing reads, client to broker
  std::vector<std::byte> tap_frame_;  // a cut-through response collected for the tap (tests only)
  // The configuration generation in force: held until the session adopts the next (between
  // requests), so the principal's and the policies' views into it stay valid.
  std::shared_ptr<const live_config> live_;
  std::shared_ptr<policy_chain> policies_;  // live_'s chain for this principal; null: no policy applies
  bool client_busy_ = false;               // a write to the client is in progress (see acquire_client)

  friend void drain_sessions(worker& w);
  friend void publish_session_counts(worker& w);
};

void start_session(worker& w, const listener_runtime& l, tcp::socket client, upstream_target target,
                   connection_slot slot, std::string counted_address) {
  auto s = std::make_shared<session>(w, l, std::move(client), std::move(target), std::move(slot),
                                     std::move(counted_address));
  auto it = w.sessions.insert(w.sessions.end(), s);
  asio::co_spawn(w.io, s->run(), [&w, it](std::exception_ptr e) {
    w.sessions.erase(it);
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::relay().error("session ended with an unexpected error: {}", ex.what());
      }
    }
  });
}

void drain_sessions(worker& w) {
  for (auto& weak : w.sessions)
    if (auto s = weak.lock()) s->drain();
}

void publish_session_counts(worker& w) {
  for (auto& weak : w.sessions)
    if (auto s = weak.lock()) s->publish_counts();
}

}  // namespace kgw::gateway

#pragma once
// The audit trail (config `audit:`): a decision-stream subscriber that turns decisions into
// CloudEvents (policies/audit/audit_event.h), a bounded queue, and one writer thread that hands
// them to the sinks (a JSON-lines file, a topic on the cluster) in order.
//
// Denials, authentications, reloads, key operations and policy failures are events one by one.
// Produce and Fetch traffic is rolled up per (principal, topic, API) per interval (requests,
// records, bytes, and what governed stages did to them), or written per request and topic
// (traffic: per_request).
//
// The relay never waits for the trail. When the queue is full or a sink is down:
//   fail: open    events that cannot be queued or written are dropped and counted
//                 (kafka_gateway_audit_events_dropped_total);
//   fail: closed  accepting() turns false and sessions answer Produce and Fetch with a
//                 retriable error (policies/audit/audit_gate.h) until the trail takes events
//                 again; what was queued is retried, not dropped (the queue may grow to twice its
//                 capacity with the events of requests already under way; past that, dropped
//                 and counted). A sink that wrote an event keeps it: after a failure only the
//                 sinks that failed are retried.
//
// Threading: on_decision runs on any thread (relay workers, the reloader, the key manager's
// thread) and never blocks on I/O: an event is formatted on the deciding thread and queued under
// a short mutex; traffic is added with relaxed atomics to rollup cells each thread finds once
// per key in its own cache (a cell is made under the cells' mutex, once per key). The writer
// thread alone touches the sinks and reads the cells. accepting() is an atomic load.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/audit/audit_sink.h"
#include "policies/audit/audit_event.h"
#include "policies/decision.h"

namespace kgw::gateway::metrics {
class gateway_metrics;
}

namespace kgw::gateway::audit {

class audit_log {
 public:
  audit_log(config::audit_settings settings, std::vector<std::unique_ptr<audit_sink>> sinks,
            metrics::gateway_metrics* metrics = nullptr);
  ~audit_log();  // stop()
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  void start();
  // Rolls up what is pending, writes what is queued (for at most 5 s), stops the thread.
  void stop();

  // The decision-stream subscriber.
  void on_decision(const policies::decision& d);
  bool wants_traffic() const { return settings_.traffic != config::audit_settings::traffic_mode::off; }

  // fail: closed: false while the trail cannot take events (always true with fail: open).
  bool accepting() const { return accepting_.load(std::memory_order_relaxed); }
  bool fails_closed() const { return settings_.fail == config::audit_settings::fail_mode::closed; }
  // Why not, for logs and /readyz ("" when it is).
  std::string trouble() const;
  // SIGUSR1: the file sink reopens its path (after logrotate moved it).
  void reopen();

  struct cell;  // one (principal, topic, API) rollup row

 private:
  void push(std::string event);
  void run();
  void roll_up(std::chrono::system_clock::time_point to);
  void write_pending();
  void update_gate();
  cell& cell_for(const policies::decision& d);

  const config::audit_settings settings_;
  const policies::audit::event_source source_;
  const std::uint64_t serial_;  // tells one log's per-thread caches from another's
  std::vector<std::unique_ptr<audit_sink>> sinks_;
  metrics::gateway_metrics* metrics_;
  std::atomic<std::uint64_t> seq_{0};

  mutable std::mutex mu_;  // queue_, stopping_
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  std::atomic<std::size_t> held_{0};  // queued + being written (the gate's count)
  bool stopping_ = false;
  std::atomic<bool> accepting_{true};
  std::atomic<bool> reopen_{false};

  // The writer's batch and how far each sink got into it.
  std::vector<std::string> pending_;
  std::vector<std::size_t> done_;

  std::mutex cells_mu_;
  std::unordered_map<std::string, std::unique_ptr<cell>> cells_;
  std::chrono::system_clock::time_point window_start_;
  std::atomic<std::uint64_t> generation_{0};

  std::thread thread_;
};

// The trail `cfg.audit` describes, its sinks opened (the file created, the producer made);
// bootstrap: the upstream cluster as the gateway reaches it ("host:port,...").
std::expected<std::unique_ptr<audit_log>, std::string> make_audit_log(const config::gateway_config& cfg,
                                                                      const std::string& bootstrap,
                                                                      metrics::gateway_metrics* metrics);

}  // namespace kgw::gateway::audit

#pragma once
// What the gateway exposes on /metrics (names and labels documented in the README's metrics
// table). Two sources feed it:
//   - the decision stream (policies/decision.h): authentications and their failures, denied
//     entries, what record policies did per principal and topic, reloads. on_decision is a
//     subscriber like the minute summary and audit; deciding code knows nothing of metrics.
//   - the relay's own counts, which are not decisions: connections per listener, and per
//     principal the requests and bytes each session counted, published by the worker's
//     one-second tick (session_counts) rather than on every read and write.
// Principal and topic label values are capped (admin.max_principals / max_topics, the rest
// "other").
// Threading: thread-safe (metric_registry.h); on_decision runs on the deciding worker thread
// and looks series up through a per-thread cache, so the hot path takes no lock.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/gateway_config.h"
#include "gateway/metrics/metric_registry.h"
#include "policies/decision.h"

namespace kgw::gateway::metrics {

// What one session counted since it last published: bytes from and to its client, and its
// requests by API key (key_slots - 1 holds keys outside 0..key_slots-2).
struct session_counts {
  static constexpr std::size_t key_slots = 128;
  static constexpr std::size_t slot_of(std::int16_t api_key) {
    return api_key >= 0 && static_cast<std::size_t>(api_key) + 1 < key_slots ? static_cast<std::size_t>(api_key)
                                                                               : key_slots - 1;
  }
  std::uint64_t bytes_in = 0, bytes_out = 0;
};

class gateway_metrics {
 public:
  explicit gateway_metrics(const config::admin_settings& settings);

  void on_decision(const policies::decision& d);

  // Per listener; `open` is the difference.
  void connection_accepted(std::string_view listener);
  void connection_closed(std::string_view listener);
  // A connection closed over a connection limit: scope "address" or "principal", limit
  // "max_connections" or "connections_per_second".
  void connection_refused(std::string_view listener, std::string_view scope, std::string_view limit);
  // Connections to upstream brokers ("host:port", as configured or learnt: bounded by the cluster).
  void upstream_connected(std::string_view broker);
  void upstream_closed(std::string_view broker);
  void upstream_connect_failed(std::string_view broker);
  // A session's counts since its last call (deltas).
  void add_session_counts(std::string_view principal, const session_counts& delta);
  void add_requests(std::string_view principal, std::size_t key_slot, std::uint64_t n);
  // A client throttled for `t` over its `quota` ("produce", "fetch", "request").
  void add_throttle(std::string_view principal, std::string_view quota, std::chrono::milliseconds t);
  // From a request's last byte read to its response's header back from the broker.
  void observe_latency(std::int16_t api_key, std::chrono::nanoseconds d);
  // The configuration generation live now (at start and after each accepted reload).
  void set_generation(std::uint64_t generation);
  // The shared transform cache (policies/transform_cache.h), read before each scrape: lookups
  // that found a governed batch or not, entries evicted (totals), and what it holds now.
  void transform_cache(std::uint64_t hits, std::uint64_t misses, std::uint64_t evicted, std::size_t bytes,
                       std::size_t entries, std::size_t capacity);

  // The audit trail (gateway/audit/audit_log.h): events made by CloudEvents type, written per
  // sink, dropped by reason (queue_full, sink_failed), sink state, events held.
  void audit_event(std::string_view type, std::uint64_t n = 1);
  void audit_written(std::string_view sink, std::uint64_t n);
  void audit_dropped(std::string_view reason, std::uint64_t n);
  void audit_sink_up(std::string_view sink, bool up);
  void audit_queue(std::size_t events);

  std::string render() const { return reg_.render(); }

 private:
  const std::uint64_t serial_;  // tells this instance's per-thread series caches from another's
  registry reg_;
  label_cap principals_, topics_;
  family<counter>& connections_accepted_;
  family<counter>& connections_closed_;
  family<gauge>& connections_open_;
  family<counter>& connections_refused_;
  family<gauge>& upstream_open_;
  family<counter>& upstream_connects_;
  family<counter>& upstream_failures_;
  family<counter>& authentications_;
  family<counter>& authentication_failures_;
  family<counter>& requests_;
  family<histogram>& latency_;
  family<counter>& throttle_time_;
  family<counter>& throttled_;
  // The latency series by API key slot, made on first use (then read without the family's lock).
  std::array<std::atomic<histogram*>, session_counts::key_slots> latency_by_key_{};
  family<counter>& bytes_received_;
  family<counter>& bytes_sent_;
  family<counter>& denied_;
  family<counter>& records_;
  family<counter>& fields_;
  family<counter>& batches_;
  family<counter>& traffic_bytes_;
  family<counter>& traffic_records_;
  family<counter>& audit_events_;
  // The audit event series by type (audit_event_types order), made on first use.
  std::array<std::atomic<counter*>, 8> audit_by_type_{};
  family<counter>& audit_written_;
  family<counter>& audit_dropped_;
  family<gauge>& audit_sink_up_;
  family<gauge>& audit_queue_;
  family<counter>& cache_lookups_;
  family<counter>& cache_evictions_;
  family<gauge>& cache_bytes_;
  family<gauge>& cache_entries_;
  family<gauge>& cache_capacity_;
  family<gauge>& generation_;
  family<counter>& reloads_;
  family<gauge>& last_reload_ok_;
  family<gauge>& build_info_;
};

}  // namespace kgw::gateway::metrics

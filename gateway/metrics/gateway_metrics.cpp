#include "gateway/metrics/gateway_metrics.h"

#include "gateway/decision_cache.h"

#include <array>
#include <atomic>
#include <unordered_map>

#include "protocol/api_keys.h"

#ifndef KGW_VERSION
#define KGW_VERSION "unknown"
#endif

namespace kgw::gateway::metrics {

namespace {

using policies::tally;

// Which tallies of a records event go to which family, under which label value.
struct tally_series {
  tally t;
  enum { records, fields, batches } family;
  const char* outcome;
};
constexpr std::array<tally_series, policies::tally_count> tally_map{{
    {tally::records_delivered, tally_series::records, "delivered"},
    {tally::records_filtered, tally_series::records, "filtered"},
    {tally::records_masked, tally_series::records, "masked"},
    {tally::records_invalid_dropped, tally_series::records, "invalid_dropped"},
    {tally::records_invalid_replaced, tally_series::records, "invalid_replaced"},
    {tally::legacy_batches_dropped, tally_series::batches, "legacy_dropped"},
    {tally::corrupt_batches, tally_series::batches, "corrupt"},
    {tally::batches_rewritten, tally_series::batches, "rewritten"},
    {tally::produce_rejected, tally_series::records, "produce_rejected"},
    {tally::fields_encrypted, tally_series::fields, "encrypted"},
    {tally::fields_decrypted, tally_series::fields, "decrypted"},
    {tally::fields_undecryptable, tally_series::fields, "undecryptable"},
    {tally::records_undecryptable_dropped, tally_series::records, "undecryptable_dropped"},
    {tally::batches_shared, tally_series::batches, "shared"},
}};
constexpr bool map_complete = [] {
  for (std::size_t i = 0; i < tally_map.size(); ++i)
    if (static_cast<std::size_t>(tally_map[i].t) != i) return false;
  return true;
}();
static_assert(map_complete, "every decision tally needs its metric (in tally order)");

std::atomic<std::uint64_t> next_serial{1};

// Request latency buckets (seconds): sub-millisecond pass-through up to long-polling fetches.
const std::vector<double> latency_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5,     10};

std::string_view api_label(std::int16_t key) {
  if (key < 0) return "none";
  const char* name = protocol::api_name(key);
  return name ? std::string_view(name) : std::string_view("unknown");
}

}  // namespace

gateway_metrics::gateway_metrics(const config::admin_settings& s)
    : serial_(next_serial.fetch_add(1)),
      principals_(s.max_principals),
      topics_(s.max_topics),
      connections_accepted_(reg_.add_counter("kafka_gateway_connections_accepted_total",
                                             "Client connections accepted, by listener.", {"listener"})),
      connections_closed_(reg_.add_counter("kafka_gateway_connections_closed_total",
                                           "Client connections closed, by listener.", {"listener"})),
      connections_open_(reg_.add_gauge("kafka_gateway_connections_open", "Client connections open now, by listener.",
                                       {"listener"})),
      connections_refused_(reg_.add_counter("kafka_gateway_connections_refused_total",
                                            "Connections closed over a connection limit, by listener, scope "
                                            "(address, principal) and limit.",
                                            {"listener", "scope", "limit"})),
      upstream_open_(reg_.add_gauge("kafka_gateway_upstream_connections_open",
                                    "Connections open to each upstream broker (one per client connection relayed).",
                                    {"broker"})),
      upstream_connects_(reg_.add_counter("kafka_gateway_upstream_connects_total",
                                          "Connections made to each upstream broker.", {"broker"})),
      upstream_failures_(reg_.add_counter("kafka_gateway_upstream_connect_failures_total",
                                          "Connection attempts to an upstream broker that failed.", {"broker"})),
      authentications_(reg_.add_counter("kafka_gateway_authentications_total",
                                        "Connections authenticated, by listener, mechanism and principal.",
                                        {"listener", "mechanism", "principal"})),
      authentication_failures_(reg_.add_counter("kafka_gateway_authentication_failures_total",
                                                "TLS handshakes and SASL exchanges refused, by listener and what failed.",
                                                {"listener", "reason"})),
      requests_(reg_.add_counter("kafka_gateway_requests_total", "Requests received from clients, by principal and API.",
                                 {"principal", "api"})),
      latency_(reg_.add_histogram("kafka_gateway_request_latency_seconds",
                                  "From a request's last byte read from the client to its response's header back "
                                  "from the broker, by API.",
                                  {"api"}, latency_bounds)),
      throttle_time_(reg_.add_scaled_counter("kafka_gateway_throttle_seconds_total",
                                             "Time clients were throttled for (muted, and told in throttle_time_ms), "
                                             "by principal and quota.",
                                             {"principal", "quota"}, 1000)),
      throttled_(reg_.add_counter("kafka_gateway_throttled_total", "Responses throttled, by principal and quota.",
                                  {"principal", "quota"})),
      bytes_received_(reg_.add_counter("kafka_gateway_client_received_bytes_total",
                                       "Bytes received from clients, by principal.", {"principal"})),
      bytes_sent_(reg_.add_counter("kafka_gateway_client_sent_bytes_total", "Bytes sent to clients, by principal.",
                                   {"principal"})),
      denied_(reg_.add_counter("kafka_gateway_denied_total",
                               "Request entries refused by a policy, by principal, API, resource type and Kafka error code.",
                               {"principal", "api", "resource_type", "error_code"})),
      records_(reg_.add_counter("kafka_gateway_records_total",
                                "Records on governed topics, by principal, topic, API and what the policies did.",
                                {"principal", "topic", "api", "outcome"})),
      fields_(reg_.add_counter("kafka_gateway_encrypted_fields_total",
                               "Fields (or whole values) encrypted, decrypted or that could not be decrypted.",
                               {"principal", "topic", "api", "outcome"})),
      batches_(reg_.add_counter("kafka_gateway_batches_total",
                                "Record batches on governed topics rewritten, corrupt or dropped (legacy format).",
                                {"principal", "topic", "api", "outcome"})),
      traffic_bytes_(reg_.add_counter("kafka_gateway_traffic_bytes_total",
                                      "Bytes of record data produced or fetched (as the client sent or received "
                                      "them), by principal, topic and API: chargeback.",
                                      {"principal", "topic", "api"})),
      traffic_records_(reg_.add_counter("kafka_gateway_traffic_records_total",
                                        "Records produced or fetched, by principal, topic and API.",
                                        {"principal", "topic", "api"})),
      audit_events_(reg_.add_counter("kafka_gateway_audit_events_total",
                                     "Audit events made, by CloudEvents type.", {"type"})),
      audit_written_(reg_.add_counter("kafka_gateway_audit_written_total", "Audit events written, by sink.",
                                      {"sink"})),
      audit_dropped_(reg_.add_counter("kafka_gateway_audit_dropped_total",
                                      "Audit events dropped (audit.fail: open), by reason: queue_full or sink_failed.",
                                      {"reason"})),
      audit_sink_up_(reg_.add_gauge("kafka_gateway_audit_sink_up", "1 while an audit sink takes events, else 0.",
                                    {"sink"})),
      audit_queue_(reg_.add_gauge("kafka_gateway_audit_queue_events",
                                  "Audit events queued or being written.", {})),
      cache_lookups_(reg_.add_counter("kafka_gateway_transform_cache_lookups_total",
                                      "Governed batches looked up in the shared transform cache, by result: hit or "
                                      "miss (then governed and kept).",
                                      {"result"})),
      cache_evictions_(reg_.add_counter("kafka_gateway_transform_cache_evictions_total",
                                        "Governed batches evicted from the shared transform cache.", {})),
      cache_bytes_(reg_.add_gauge("kafka_gateway_transform_cache_bytes",
                                  "Bytes the shared transform cache holds now (batches and bookkeeping).", {})),
      cache_entries_(reg_.add_gauge("kafka_gateway_transform_cache_entries",
                                    "Governed batches the shared transform cache holds now.", {})),
      cache_capacity_(reg_.add_gauge("kafka_gateway_transform_cache_capacity_bytes",
                                     "The shared transform cache's bound (gateway.transform_cache).", {})),
      generation_(reg_.add_gauge("kafka_gateway_config_generation", "The configuration generation serving now.", {})),
      reloads_(reg_.add_counter("kafka_gateway_config_reloads_total", "Configuration reloads, by result.", {"result"})),
      last_reload_ok_(reg_.add_gauge("kafka_gateway_config_last_reload_successful",
                                     "1 when the last reload was accepted (or none was tried), else 0.", {})),
      build_info_(reg_.add_gauge("kafka_gateway_build_info", "Always 1; the labels say which build runs.", {"version"})) {
  build_info_.with({KGW_VERSION}).set(1);
  last_reload_ok_.with({}).set(1);
  // Both results are always present, so a query for rejections sees 0 rather than nothing.
  reloads_.with({"accepted"});
  reloads_.with({"rejected"});
}

void gateway_metrics::connection_accepted(std::string_view listener) {
  connections_accepted_.with({listener}).add();
  connections_open_.with({listener}).add(1);
}

void gateway_metrics::connection_closed(std::string_view listener) {
  connections_closed_.with({listener}).add();
  connections_open_.with({listener}).add(-1);
}

void gateway_metrics::upstream_connected(std::string_view broker) {
  upstream_open_.with({broker}).add(1);
  upstream_connects_.with({broker}).add();
}

void gateway_metrics::upstream_closed(std::string_view broker) { upstream_open_.with({broker}).add(-1); }

void gateway_metrics::upstream_connect_failed(std::string_view broker) { upstream_failures_.with({broker}).add(); }

void gateway_metrics::connection_refused(std::string_view listener, std::string_view scope, std::string_view limit) {
  connections_refused_.with({listener, scope, limit}).add();
}

void gateway_metrics::add_session_counts(std::string_view principal, const session_counts& delta) {
  const std::string_view p = principals_.fold(principal);
  if (delta.bytes_in) bytes_received_.with({p}).add(delta.bytes_in);
  if (delta.bytes_out) bytes_sent_.with({p}).add(delta.bytes_out);
}

namespace {
std::string_view slot_label(std::size_t slot) {
  return slot + 1 < session_counts::key_slots ? api_label(static_cast<std::int16_t>(slot)) : std::string_view("unknown");
}
}  // namespace

void gateway_metrics::add_requests(std::string_view principal, std::size_t key_slot, std::uint64_t n) {
  if (key_slot >= session_counts::key_slots) key_slot = session_counts::key_slots - 1;
  requests_.with({principals_.fold(principal), slot_label(key_slot)}).add(n);
}

void gateway_metrics::add_throttle(std::string_view principal, std::string_view quota, std::chrono::milliseconds t) {
  const std::string_view p = principals_.fold(principal);
  throttle_time_.with({p, quota}).add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, t.count())));
  throttled_.with({p, quota}).add();
}

void gateway_metrics::observe_latency(std::int16_t api_key, std::chrono::nanoseconds d) {
  const std::size_t key_slot = session_counts::slot_of(api_key);
  auto& slot = latency_by_key_[key_slot];
  histogram* h = slot.load(std::memory_order_acquire);
  if (!h) {
    h = &latency_.with({slot_label(key_slot)});  // the same series whoever gets here first
    slot.store(h, std::memory_order_release);
  }
  h->observe(d);
}

namespace {
constexpr std::array<std::string_view, 6> audit_event_types{
    "kafka.gateway.authentication", "kafka.gateway.authorization", "kafka.gateway.policy",
    "kafka.gateway.reload",         "kafka.gateway.keys",          "kafka.gateway.traffic"};
}  // namespace

void gateway_metrics::audit_event(std::string_view type, std::uint64_t n) {
  std::size_t i = 0;
  while (i < audit_event_types.size() && audit_event_types[i] != type) ++i;
  if (i == audit_event_types.size()) return audit_events_.with({type}).add(n);
  auto& slot = audit_by_type_[i];
  counter* c = slot.load(std::memory_order_acquire);
  if (!c) {
    c = &audit_events_.with({type});
    slot.store(c, std::memory_order_release);
  }
  c->add(n);
}

void gateway_metrics::audit_written(std::string_view sink, std::uint64_t n) { audit_written_.with({sink}).add(n); }
void gateway_metrics::audit_dropped(std::string_view reason, std::uint64_t n) { audit_dropped_.with({reason}).add(n); }
void gateway_metrics::audit_sink_up(std::string_view sink, bool up) { audit_sink_up_.with({sink}).set(up ? 1 : 0); }
void gateway_metrics::audit_queue(std::size_t events) {
  audit_queue_.with({}).set(static_cast<std::int64_t>(events));
}

void gateway_metrics::transform_cache(std::uint64_t hits, std::uint64_t misses, std::uint64_t evicted,
                                      std::size_t bytes, std::size_t entries, std::size_t capacity) {
  cache_lookups_.with({"hit"}).mirror(hits);
  cache_lookups_.with({"miss"}).mirror(misses);
  cache_evictions_.with({}).mirror(evicted);
  cache_bytes_.with({}).set(static_cast<std::int64_t>(bytes));
  cache_entries_.with({}).set(static_cast<std::int64_t>(entries));
  cache_capacity_.with({}).set(static_cast<std::int64_t>(capacity));
}

void gateway_metrics::set_generation(std::uint64_t generation) {
  generation_.with({}).set(static_cast<std::int64_t>(generation));
}

void gateway_metrics::on_decision(const policies::decision& d) {
  switch (d.kind) {
    case policies::decision_kind::authenticated:
      authentications_.with({d.listener, d.mechanism, principals_.fold(d.principal)}).add();
      return;
    case policies::decision_kind::authentication_failed:
      authentication_failures_.with({d.listener, d.reason.empty() ? std::string_view("other") : d.reason}).add();
      return;
    case policies::decision_kind::denied:
      denied_
          .with({principals_.fold(d.principal), api_label(d.api_key), d.resource_type.empty() ? "none" : d.resource_type,
                 std::to_string(d.error)})
          .add();
      return;
    case policies::decision_kind::reload:
      reloads_.with({d.accepted ? "accepted" : "rejected"}).add();
      last_reload_ok_.with({}).set(d.accepted ? 1 : 0);
      if (d.accepted) set_generation(d.generation);
      return;
    case policies::decision_kind::key: return;
    case policies::decision_kind::records:
    case policies::decision_kind::traffic: break;
  }
  // Records: one event per partition of a governed response or request; traffic: one per topic of
  // a Produce request or Fetch response. The series of one (principal, topic, API) are found
  // once per thread, then only added to.
  struct series_set {
    std::string_view principal, topic, api;  // folded: views into the label caps (or static)
    std::array<counter*, policies::tally_count> by_tally{};  // made on the first non-zero count
    counter* bytes = nullptr;
    counter* records = nullptr;
  };
  static thread_local decision_cache<series_set> c;
  auto [found, known] = c.find(serial_, d);
  if (!known) *found = series_set{principals_.fold(d.principal), topics_.fold(d.resource), api_label(d.api_key)};
  series_set& s = *found;
  if (d.kind == policies::decision_kind::traffic) {
    if (!s.bytes) {
      s.bytes = &traffic_bytes_.with({s.principal, s.topic, s.api});
      s.records = &traffic_records_.with({s.principal, s.topic, s.api});
    }
    s.bytes->add(d.bytes);
    s.records->add(d.records);
    return;
  }
  for (const auto& m : tally_map) {
    const auto i = static_cast<std::size_t>(m.t);
    if (!d.counts[i]) continue;
    if (!s.by_tally[i]) {
      auto& fam = m.family == tally_series::records ? records_ : m.family == tally_series::fields ? fields_ : batches_;
      s.by_tally[i] = &fam.with({s.principal, s.topic, s.api, m.outcome});
    }
    s.by_tally[i]->add(d.counts[i]);
  }
}

}  // namespace kgw::gateway::metrics

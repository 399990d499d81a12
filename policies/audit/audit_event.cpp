#include "policies/audit/audit_event.h"

#include <charconv>
#include <ctime>

#include "policies/json/json_text.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"

namespace kgw::policies::audit {

namespace {

// A JSON object written member by member (no nesting bookkeeping beyond the comma).
class object_writer {
 public:
  explicit object_writer(std::string& out) : out_(out) { out_ += '{'; }
  void close() { out_ += '}'; }

  void key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    json::quote_append(k, out_);
    out_ += ':';
  }
  void str(std::string_view k, std::string_view v) {
    key(k);
    json::quote_append(v, out_);
  }
  // Only when there is something to say.
  void str_if(std::string_view k, std::string_view v) {
    if (!v.empty()) str(k, v);
  }
  void num(std::string_view k, std::int64_t v) {
    key(k);
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, p);
  }
  void unum(std::string_view k, std::uint64_t v) {
    key(k);
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, p);
  }
  void boolean(std::string_view k, bool v) {
    key(k);
    out_ += v ? "true" : "false";
  }
  object_writer child(std::string_view k) {
    key(k);
    return object_writer(out_);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

const char* api_label(std::int16_t key) {
  const char* name = protocol::api_name(key);
  return name ? name : "unknown";
}

// The CloudEvents envelope up to `data`, which the caller writes and closes.
object_writer envelope(std::string& out, const event_source& src, std::uint64_t seq, const char* type,
                       std::chrono::system_clock::time_point at, std::string_view subject) {
  object_writer e(out);
  e.str("specversion", "1.0");
  std::string id = src.id_prefix;
  id += std::to_string(seq);
  e.str("id", id);
  e.str("source", src.source);
  e.str("type", type);
  e.key("time");
  out += '"';
  append_time(at, out);
  out += '"';
  e.str("datacontenttype", "application/json");
  e.str_if("subject", subject);
  return e;
}

void who(object_writer& d, const decision& x) {
  d.str_if("listener", x.listener);
  d.str_if("client_address", x.client);
  d.str_if("principal", x.principal);
  d.str_if("mechanism", x.mechanism);
  d.str_if("client_id", x.client_id);
}

void api(object_writer& d, const decision& x) {
  if (x.api_key < 0) return;
  d.str("api", api_label(x.api_key));
  d.num("api_key", x.api_key);
  if (x.api_version >= 0) d.num("api_version", x.api_version);
}

void resource(object_writer& d, const decision& x) {
  if (x.resource_type.empty()) return;
  auto r = d.child("resource");
  r.str("type", x.resource_type);
  r.str("name", x.resource);
  if (x.partition >= 0) r.num("partition", x.partition);
  r.close();
}

void error(object_writer& d, std::int16_t code) {
  d.num("error_code", code);
  const char* name = protocol::error_name(code);
  d.str("error", name ? name : "UNKNOWN_SERVER_ERROR");
}

void tallies(object_writer& d, const tally_counts& counts) {
  bool any = false;
  for (const auto c : counts) any = any || c != 0;
  if (!any) return;
  auto t = d.child("records_by_outcome");
  for (std::size_t i = 0; i < tally_count; ++i)
    if (counts[i]) t.unum(tally_names[i], counts[i]);
  t.close();
}

}  // namespace

event_source event_source::make(std::string instance, std::chrono::system_clock::time_point started) {
  event_source s;
  s.instance = std::move(instance);
  s.source = "/kafka-gateway/" + s.instance;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(started.time_since_epoch()).count();
  s.id_prefix = s.instance + "-" + std::to_string(ms) + "-";
  return s;
}

audit_class classify(const decision& d, bool per_request) {
  switch (d.kind) {
    case decision_kind::authenticated:
    case decision_kind::authentication_failed:
    case decision_kind::denied:
    case decision_kind::reload:
    case decision_kind::key: return audit_class::one_by_one;
    case decision_kind::records:
      return d.error != 0 || per_request ? audit_class::one_by_one : audit_class::rolled_up;
    case decision_kind::traffic: return per_request ? audit_class::one_by_one : audit_class::rolled_up;
  }
  return audit_class::not_audited;
}

const char* event_type(const decision& d) {
  switch (d.kind) {
    case decision_kind::authenticated:
    case decision_kind::authentication_failed: return "kafka.gateway.authentication";
    case decision_kind::denied: return "kafka.gateway.authorization";
    case decision_kind::records: return "kafka.gateway.policy";
    case decision_kind::reload: return "kafka.gateway.reload";
    case decision_kind::key: return "kafka.gateway.keys";
    case decision_kind::traffic: return "kafka.gateway.traffic";
  }
  return "kafka.gateway.unknown";
}

void append_time(std::chrono::system_clock::time_point t, std::string& out) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  out.append(buf, static_cast<std::size_t>(n));
}

void append_event(const decision& x, const event_source& src, std::uint64_t seq,
                  std::chrono::system_clock::time_point at, std::string& out) {
  auto e = envelope(out, src, seq, event_type(x), at, x.principal);
  auto d = e.child("data");
  d.str("instance", src.instance);
  if (x.generation) d.unum("generation", x.generation);
  switch (x.kind) {
    case decision_kind::authenticated:
      who(d, x);
      d.str("outcome", "success");
      break;
    case decision_kind::authentication_failed:
      who(d, x);
      d.str("outcome", "failure");
      d.str_if("reason", x.reason);
      d.str_if("detail", x.detail);
      break;
    case decision_kind::denied:
      who(d, x);
      api(d, x);
      resource(d, x);
      d.str_if("operation", x.operation);
      d.str("outcome", "denied");
      error(d, x.error);
      // The deny rule that matched, or Kafka's default: no allow rule for this principal.
      if (!x.rule.empty())
        d.str("rule", x.rule);
      else if (!x.operation.empty())
        d.str("rule", "default deny (no allow rule)");
      d.str_if("detail", x.detail);
      break;
    case decision_kind::records:
      who(d, x);
      api(d, x);
      resource(d, x);
      d.str("outcome", x.error ? "failed" : "applied");
      if (x.error) error(d, x.error);
      tallies(d, x.counts);
      d.str_if("detail", x.detail);
      break;
    case decision_kind::reload:
      d.str("outcome", x.accepted ? "accepted" : "rejected");
      d.str_if("detail", x.detail);
      break;
    case decision_kind::key:
      d.str_if("operation", x.operation);
      resource(d, x);
      d.str("outcome", x.accepted ? "success" : "failure");
      d.str_if("detail", x.detail);
      break;
    case decision_kind::traffic:
      who(d, x);
      api(d, x);
      resource(d, x);
      d.str("outcome", "allowed");
      d.unum("requests", 1);
      d.unum("records", x.records);
      d.unum("bytes", x.bytes);
      break;
  }
  d.close();
  e.close();
}

void append_rollup(const traffic_row& row, std::chrono::system_clock::time_point from,
                   std::chrono::system_clock::time_point to, std::uint64_t generation, const event_source& src,
                   std::uint64_t seq, std::chrono::system_clock::time_point at, std::string& out) {
  auto e = envelope(out, src, seq, "kafka.gateway.traffic", at, row.principal);
  auto d = e.child("data");
  d.str("instance", src.instance);
  if (generation) d.unum("generation", generation);
  d.str("principal", row.principal);
  d.str("api", api_label(row.api_key));
  d.num("api_key", row.api_key);
  {
    auto r = d.child("resource");
    r.str("type", "topic");
    r.str("name", row.topic);
    r.close();
  }
  d.str("outcome", "allowed");
  {
    auto w = d.child("window");
    w.key("start");
    std::string t;
    append_time(from, t);
    json::quote_append(t, out);
    w.key("end");
    t.clear();
    append_time(to, t);
    json::quote_append(t, out);
    w.close();
  }
  d.unum("requests", row.requests);
  d.unum("records", row.records);
  d.unum("bytes", row.bytes);
  tallies(d, row.counts);
  d.close();
  e.close();
}

}  // namespace kgw::policies::audit

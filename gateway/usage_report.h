#pragma once
// The chargeback report (`kafka-gateway usage`): bytes and records each principal produced and
// fetched per topic over a period, read either from the gateway's /metrics (the
// kafka_gateway_traffic_*_total counters, one scrape for the totals since it started, or two for
// a period) or from audit trail files (the kafka.gateway.traffic events, rolled up or per
// request, between two times).
// Threading: plain values and pure functions.
#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace kgw::gateway {

struct usage_key {
  std::string principal, topic, api;
  auto operator<=>(const usage_key&) const = default;
};
struct usage_counts {
  std::uint64_t records = 0, bytes = 0;
};
using usage_table = std::map<usage_key, usage_counts>;

// The traffic counters of a Prometheus text exposition; why not, when a line is malformed.
std::expected<usage_table, std::string> usage_from_metrics(std::string_view text);

// What happened between two scrapes of the same gateway; a counter that went down means the
// gateway restarted in between, and its later value is what it counted since.
usage_table usage_between(const usage_table& before, const usage_table& after);

// Adds the kafka.gateway.traffic events of audit JSON lines whose window (rollups) or time (per
// request) lies within [from, to) (RFC 3339 UTC as the events write it; empty: open) to `into`.
// Lines that are not traffic events are skipped; why not, for a line that is not JSON.
std::expected<void, std::string> add_usage_from_audit(std::string_view lines, std::string_view from,
                                                      std::string_view to, usage_table& into);

// A table (aligned columns, with a total) or CSV (principal,topic,api,records,bytes).
std::string format_usage(const usage_table& t, bool csv);

}  // namespace kgw::gateway

#pragma once
// Quotas compiled for one configuration generation (policies/quota/quota_config.h): per
// principal (and client id, where rules name client ids), the produce and fetch byte rates and
// the request rate that apply (already divided by `instances`) and the rate windows they are
// measured with. The relay consults them per frame, never decoding a message for them: a
// Produce request's size counts when it is forwarded, a Fetch response's size when its header
// arrives (also when it is cut through), every request when it is read; the throttle goes into
// the response's throttle_time_ms (protocol/throttle_field.h) and mutes the client connection.
//
// The windows outlive generations: a reload that changes a rate keeps what was measured. They
// live in the quota_meters of the gateway, one per principal and kind (and window shape).
// Threading: quota_book and principal_quotas are immutable and shared by every worker; the
// rate windows are lock-free (rate_window.h); quota_meters locks only when a session looks its
// principal up (once per connection and generation).
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "config/gateway_config.h"
#include "policies/quota/quota_config.h"
#include "policies/quota/rate_window.h"

namespace kgw::policies::quota {

enum class quota_kind { produce, fetch, request };
const char* kind_name(quota_kind k);  // "produce", "fetch", "request": metric labels

// A quota entity, as Kafka's: whose use one rate window measures.
struct quota_entity {
  std::optional<std::string> principal;  // none: a client-id quota, shared by every principal
  std::optional<std::string> client_id;  // none: every client id of the principal together
  auto operator<=>(const quota_entity&) const = default;
};

// Every rate window the gateway measures with, by (entity, kind, window shape).
class quota_meters {
 public:
  std::shared_ptr<rate_window> window(const quota_entity& who, quota_kind kind, int samples,
                                      std::chrono::milliseconds size);

 private:
  std::mutex mu_;
  std::map<std::tuple<quota_entity, quota_kind, int, std::int64_t>, std::shared_ptr<rate_window>> windows_;
};

struct quota_limit {
  double per_second = 0;  // bytes (produce, fetch) or requests; this instance's share
  std::shared_ptr<rate_window> meter;
  config::source_mark at;  // the rule that set it
  // Byte rates: over the quota, the entity's requests of this kind wait that long on all its
  // connections: with one rate per entity, muting only the connection that crossed it would let
  // each of the others send a burst per throttle period (a producer writes to every partition
  // leader at once). The request rate throttles each connection at its own requests and caps
  // the throttle at one window, as Kafka's request quota does (ClientRequestQuotaManager).
  bool hold_entity = true;
  std::chrono::milliseconds cap{0};  // 0: none

  // Counts `amount` now; how long the client should now wait (0 within the quota).
  std::chrono::milliseconds record(rate_window::clock::time_point now, std::uint64_t amount) const {
    meter->record(now, amount);
    auto t = meter->throttle(now, per_second);
    if (cap.count() > 0 && t > cap) t = cap;
    if (t.count() > 0 && hold_entity) meter->block_until(now + t);
    return t;
  }
};

struct principal_quotas {
  std::optional<quota_limit> produce, fetch, requests;
  // Connections of the principal (connection_limits.h), each from the rule that sets it.
  std::optional<int> max_connections;
  std::optional<double> connections_per_second;
  bool empty() const { return !produce && !fetch && !requests && !max_connections && !connections_per_second; }
};

class quota_book {
 public:
  quota_book(const quota_section& section, quota_meters& meters);
  // Null when no quota applies to this principal's connections with this client id (empty also
  // while a connection has not named one yet).
  std::shared_ptr<const principal_quotas> for_principal(const config::principal_config& who,
                                                         std::string_view client_id = {}) const;
  // The same for a principal the configuration does not list (no teams).
  std::shared_ptr<const principal_quotas> for_principal(const std::string& name, std::string_view client_id = {}) const;
  // Some rule names client ids: a connection's quotas depend on the client id it gives.
  bool by_client_id() const;
  // Limits per client address; null when none is configured.
  const connection_limit* per_address() const { return section_.per_address.empty() ? nullptr : &section_.per_address; }
  int samples() const { return section_.samples; }
  std::chrono::milliseconds window() const { return section_.window; }

 private:
  const quota_section& section_;  // in the generation's configuration, which outlives the book
  quota_meters& meters_;
};

}  // namespace kgw::policies::quota

#pragma once
// What the gateway tells clients in ApiVersions: the upstream cluster's ranges intersected with
// what the gateway can decode, minus APIs whose responses carry addresses it does not rewrite,
// and SaslHandshake/SaslAuthenticate as the gateway itself implements them (the client's SASL
// exchange ends at the gateway; it never reaches a broker).
//
// On SASL listeners the gateway answers ApiVersions itself before authentication, as a broker
// does, from the ranges it last saw the cluster announce (cluster_versions).
//
// Threading: cluster_versions is shared by all workers and mutex-guarded; it is written when an
// ApiVersions response passes (once per connection at most) and read for pre-auth answers.
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "protocol/wire.h"

namespace kgw::gateway {

struct api_range {
  std::int16_t api_key, min_version, max_version;
};

class cluster_versions {
 public:
  void update(std::vector<api_range> ranges);
  std::optional<std::vector<api_range>> get() const;

 private:
  mutable std::mutex mu_;
  std::optional<std::vector<api_range>> ranges_;
};

// Applies the gateway's view to a list of upstream ranges (in place).
void trim_api_versions(std::vector<api_range>& ranges, bool sasl_listener);

// The complete response frame (4-byte size first) the gateway sends for an ApiVersions request
// of `request_version` with `correlation_id`: the trimmed ranges, or, for a version newer than
// the gateway speaks, what a broker answers then (v0, UNSUPPORTED_VERSION, ApiVersions' range).
std::vector<std::byte> local_api_versions_response(std::int32_t correlation_id, std::int16_t request_version,
                                                   std::vector<api_range> cluster, bool sasl_listener);

}  // namespace kgw::gateway

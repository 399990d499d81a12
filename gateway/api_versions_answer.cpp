#include "gateway/api_versions_answer.h"

#include <algorithm>

#include "gateway/address_rewriter.h"
#include "protocol/errors.h"
#include "protocol/frames.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/headers.h"
#include "protocol/sasl_authenticate.h"
#include "protocol/sasl_handshake.h"

namespace kgw::gateway {
namespace proto = kgw::protocol;

void cluster_versions::update(std::vector<api_range> ranges) {
  std::lock_guard lk(mu_);
  ranges_ = std::move(ranges);
}

std::optional<std::vector<api_range>> cluster_versions::get() const {
  std::lock_guard lk(mu_);
  return ranges_;
}

void trim_api_versions(std::vector<api_range>& ranges, bool sasl_listener) {
  constexpr std::int16_t handshake = proto::sasl_handshake_request::api_key;
  constexpr std::int16_t authenticate = proto::sasl_authenticate_request::api_key;
  // Intersect with what the gateway decodes. APIs outside the schema pass through opaque (only
  // their header is read), so their ranges stay.
  std::erase_if(ranges, [&](api_range& k) {
    if (proto::exposes_unrewritable_addresses(k.api_key) || k.api_key == handshake || k.api_key == authenticate) return true;
    const proto::api_info* info = proto::find_api(k.api_key);
    if (!info) return false;
    k.min_version = std::max(k.min_version, info->min_version);
    k.max_version = std::min(k.max_version, info->max_version);
    return k.min_version > k.max_version;
  });
  if (sasl_listener) {
    ranges.push_back({handshake, proto::sasl_handshake_request::min_version, proto::sasl_handshake_request::max_version});
    ranges.push_back(
        {authenticate, proto::sasl_authenticate_request::min_version, proto::sasl_authenticate_request::max_version});
    std::sort(ranges.begin(), ranges.end(), [](const api_range& a, const api_range& b) { return a.api_key < b.api_key; });
  }
}

std::vector<std::byte> local_api_versions_response(std::int32_t correlation_id, std::int16_t request_version,
                                                   std::vector<api_range> cluster, bool sasl_listener) {
  proto::api_versions_response resp;
  std::int16_t version = request_version;
  if (request_version < proto::api_versions_response::min_version ||
      request_version > proto::api_versions_response::max_version) {
    version = 0;
    resp.error_code = proto::kafka_error::unsupported_version;
    resp.api_keys.push_back({proto::api_versions_request::api_key, proto::api_versions_response::min_version,
                             proto::api_versions_response::max_version, {}});
  } else {
    trim_api_versions(cluster, sasl_listener);
    for (const auto& r : cluster) resp.api_keys.push_back({r.api_key, r.min_version, r.max_version, {}});
  }
  return proto::encode_response(resp, version, correlation_id).flatten();
}

}  // namespace kgw::gateway

#include "gateway/address_rewriter.h"

#include <algorithm>
#include <utility>

#include "gateway/api_versions_answer.h"
#include "gateway/broker_registry.h"
#include "gateway/response_codec.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/describe_cluster.h"
#include "protocol/fetch.h"
#include "protocol/find_coordinator.h"
#include "protocol/headers.h"
#include "protocol/errors.h"
#include "protocol/metadata.h"
#include "protocol/produce.h"

namespace kgw::gateway {
namespace proto = kgw::protocol;

namespace api = proto::api;
namespace kafka_error = proto::kafka_error;

bool response_needs_inspection(std::int16_t key, std::int16_t version) {
  return key == api::api_versions || proto::carries_addresses(key, version);
}

address_rewriter::address_rewriter(broker_registry& registry, std::string advertised_host, bool sasl_listener,
                                   cluster_versions* versions)
    : registry_(registry), advertised_host_(std::move(advertised_host)), sasl_listener_(sasl_listener), versions_(versions) {}

namespace {

// "malformed Metadata v12 response: <why> at byte N", or "trailing bytes after Metadata response".
std::string malformed_response(const response_context& ctx, const proto::reader& r) {
  if (!r.ok())
    return std::string("malformed ") + proto::find_api(ctx.api_key)->name + " v" + std::to_string(ctx.api_version) +
           " response: " + r.error().what + " at byte " + std::to_string(r.error().offset);
  return std::string("trailing bytes after ") + proto::find_api(ctx.api_key)->name + " response";
}

// Decodes response M, applies fn (which returns false on failure or sets `changed`), re-encodes
// into out when changed: see gateway/response_codec.h.
template <class M, class Fn>
rewrite_status with_response(const response_context& ctx, proto::bytes_view body, proto::writer& out,
                             std::string& error, Fn&& fn) {
  return rewrite_response<M>(ctx, body, out, error, malformed_response, std::forward<Fn>(fn));
}

}  // namespace

bool address_rewriter::map_endpoint(std::int32_t node_id, std::string_view& host, std::int32_t& port, bool& changed,
                                    std::string& error) {
  // Entries with no broker (node -1, as in a FindCoordinator error) carry no address.
  if (node_id < 0) return true;
  auto gw_port = registry_.learn(node_id, host, port);
  if (!gw_port) {
    error = "no gateway port for broker " + std::to_string(node_id);
    return false;
  }
  host = advertised_host_;
  port = *gw_port;
  changed = true;
  return true;
}

void address_rewriter::filter_apis(std::vector<api_range>& ranges) const {
  if (api_allowed_)
    std::erase_if(ranges, [&](const api_range& r) { return !api_allowed_(r.api_key, api_allowed_ctx_); });
}

rewrite_status address_rewriter::rewrite(const response_context& ctx, proto::bytes_view body, proto::writer& out,
                                         std::string& error) {
  auto map_endpoint = [&](std::int32_t node_id, std::string_view& host, std::int32_t& port, bool& changed) {
    return this->map_endpoint(node_id, host, port, changed, error);
  };

  switch (ctx.api_key) {
    case api::metadata:
      return with_response<proto::metadata_response>(ctx, body, out, error, [&](auto& m, bool& changed) {
        for (auto& b : m.brokers)
          if (!map_endpoint(b.node_id, b.host, b.port, changed)) return false;
        return true;
      });
    case api::find_coordinator:
      return with_response<proto::find_coordinator_response>(ctx, body, out, error, [&](auto& m, bool& changed) {
        if (ctx.api_version < 4) {
          if (m.error_code == 0 && !map_endpoint(m.node_id, m.host, m.port, changed)) return false;
          return true;
        }
        for (auto& c : m.coordinators)
          if (c.error_code == 0 && !map_endpoint(c.node_id, c.host, c.port, changed)) return false;
        return true;
      });
    case api::describe_cluster:
      return with_response<proto::describe_cluster_response>(ctx, body, out, error, [&](auto& m, bool& changed) {
        for (auto& b : m.brokers)
          if (!map_endpoint(b.broker_id, b.host, b.port, changed)) return false;
        return true;
      });
    case api::produce:
      return with_response<proto::produce_response>(ctx, body, out, error, [&](auto& m, bool& changed) {
        for (auto& e : m.node_endpoints)
          if (!map_endpoint(e.node_id, e.host, e.port, changed)) return false;
        return true;
      });
    case api::fetch:
      return with_response<proto::fetch_response>(ctx, body, out, error, [&](auto& m, bool& changed) {
        for (auto& e : m.node_endpoints)
          if (!map_endpoint(e.node_id, e.host, e.port, changed)) return false;
        return true;
      });
    case api::api_versions:
      // An error answer (the broker does not speak the requested version) is sent in a format of
      // the broker's choosing (Kafka: v0) and grants nothing but a version to retry with: pass it.
      if (body.size() >= 6 && (body[4] != std::byte{0} || body[5] != std::byte{0})) return rewrite_status::unchanged;
      return with_response<proto::api_versions_response>(ctx, body, out, error, [&](auto& m, bool& changed) {
        std::vector<api_range> ranges;
        ranges.reserve(m.api_keys.size());
        for (const auto& k : m.api_keys) ranges.push_back({k.api_key, k.min_version, k.max_version});
        if (versions_ && m.error_code == 0) versions_->update(ranges);
        trim_api_versions(ranges, sasl_listener_);
        filter_apis(ranges);
        m.api_keys.clear();
        for (const auto& r : ranges) m.api_keys.push_back({r.api_key, r.min_version, r.max_version, {}});
        if (ctx.unsupported_api_versions && m.error_code == 0) m.error_code = kafka_error::unsupported_version;
        changed = true;
        return true;
      });
    default:
      return rewrite_status::unchanged;
  }
}

}  // namespace kgw::gateway

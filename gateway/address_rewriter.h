#pragma once
// Rewrites every broker address a client can see into a gateway address, and trims ApiVersions
// to what the gateway can decode.
//
// Address-bearing responses (protocol::carries_addresses): Metadata (brokers), FindCoordinator
// (v0-3 single, v4+ batched), DescribeCluster (brokers), and the KIP-951 NodeEndpoints tagged
// field of Produce v10+ and Fetch v16+. Each broker seen is recorded in the registry (which
// binds its port) before the response leaves. Only these responses are decoded, and of a Fetch
// response only its structure and trailing endpoints (records stay bytes, relayed or spliced);
// everything else passes as received bytes.
//
// Threading: one rewriter per worker or per session; the registry it points to is thread-safe.
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace kgw::policies {
class response_exchange;
}

namespace kgw::gateway {

class broker_registry;
class cluster_versions;
struct api_range;

// True when the response to (api_key, version) must be decoded because it may carry addresses
// or is ApiVersions.
bool response_needs_inspection(std::int16_t api_key, std::int16_t api_version);

// The ApiVersions request version the gateway forwards upstream. A client asking for a version
// newer than the gateway decodes gets what a broker answers in that case: a v0 response with
// UNSUPPORTED_VERSION and the supported range, so it retries with a version both understand.
constexpr std::int16_t api_versions_fallback_version = 0;

enum class rewrite_status { unchanged, rewritten };
// A rewrite's outcome, or why the response cannot be forwarded (it may hold an upstream address).
using rewrite_result = std::expected<rewrite_status, std::string>;

struct response_context {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;  // the version the upstream answered in
  bool unsupported_api_versions = false;  // client asked ApiVersions at a version we don't decode
};

class address_rewriter {
 public:
  // sasl_listener: clients on this listener authenticate with the gateway (ApiVersions lists the
  // gateway's own SASL ranges). versions, if given, records every ApiVersions answer upstream
  // gives, for answering pre-authentication ApiVersions locally.
  address_rewriter(broker_registry& registry, std::string advertised_host, bool sasl_listener = false,
                   cluster_versions* versions = nullptr);

  // body: the response frame without its 4-byte size (response header first).
  // rewritten: `out` holds the complete new body. An error: the caller must not forward the
  // original (it may hold an upstream address).
  rewrite_result rewrite(const response_context& ctx, protocol::bytes_view body, protocol::writer& out);

  // The same over a response the policy chain has decoded (protocol::carries_addresses ones):
  // addresses mapped on the one decoded message, which the chain then encodes once. An error:
  // the response must not be forwarded.
  std::expected<void, std::string> rewrite_decoded(policies::response_exchange& ex);

  // Points one broker endpoint at the gateway (for responses decoded elsewhere, e.g. governed
  // Fetch responses). Entries with no broker (node id < 0) get no address (host "", port -1).
  // changed: set when it was mapped or blanked.
  // An error: no gateway port for that broker.
  std::expected<void, std::string> map_endpoint(std::int32_t node_id, std::string_view& host, std::int32_t& port,
                                                bool& changed);

  // The top-level tagged fields of a Fetch v16+ response (protocol/fetch_scanner.h's trailer)
  // with the KIP-951 node endpoints pointed at the gateway. same_length: the frame's size has
  // already gone out (cut-through), so `out` must be exactly as long as `trailer`: the rewritten
  // endpoints are padded with unknown tagged fields (tags from 120, which every client skips),
  // or, where they do not fit (the gateway's addresses are longer than the broker's, or exactly
  // one byte shorter: a padding field takes two), withheld; the client then finds the new leader
  // through Metadata, as before KIP-951. Never the broker's addresses.
  rewrite_result rewrite_fetch_trailer(std::int16_t version, protocol::bytes_view trailer, bool same_length,
                                       std::vector<std::byte>& out);

  // Removes the APIs the filter (below) refuses from a list of ranges.
  void filter_apis(std::vector<api_range>& ranges) const;

  // With ACLs on, ApiVersions lists only the APIs the gateway can authorize (or lets through).
  void set_api_filter(bool (*allowed)(std::int16_t api_key, const void* ctx), const void* ctx) {
    api_allowed_ = allowed;
    api_allowed_ctx_ = ctx;
  }

 private:
  // Fetch v16+: walks the structure, keeps every other byte (records borrowed, not copied), and
  // rewrites only the trailing node endpoints.
  rewrite_result rewrite_fetch(const response_context& ctx, protocol::bytes_view body, protocol::writer& out);

  broker_registry& registry_;
  std::string advertised_host_;
  bool sasl_listener_;
  cluster_versions* versions_;
  bool (*api_allowed_)(std::int16_t, const void*) = nullptr;
  const void* api_allowed_ctx_ = nullptr;
};

}  // namespace kgw::gateway

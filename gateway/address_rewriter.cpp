#include "gateway/address_rewriter.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "gateway/api_versions_answer.h"
#include "gateway/broker_registry.h"
#include "policies/exchange.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/describe_cluster.h"
#include "protocol/fetch.h"
#include "protocol/fetch_scanner.h"
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

// An entry without a broker: no host, port -1 (what brokers send); changed when it had either.
std::expected<void, std::string> blank_endpoint(std::string_view& host, std::int32_t& port, bool& changed) {
  if (!host.empty() || port != -1) {
    host = {};
    port = -1;
    changed = true;
  }
  return {};
}

// "malformed Metadata v12 response: <why> at byte N", or "trailing bytes after Metadata response".
std::string malformed_response(const response_context& ctx, const proto::reader& r) {
  if (!r.ok())
    return std::string("malformed ") + proto::find_api(ctx.api_key)->name + " v" + std::to_string(ctx.api_version) +
           " response: " + r.error().what + " at byte " + std::to_string(r.error().offset);
  return std::string("trailing bytes after ") + proto::find_api(ctx.api_key)->name + " response";
}

// Decodes `body` as a response header and an M of ctx.api_version, then calls
// fn(msg, changed) -> std::expected<void, std::string>; when fn set `changed`, header and
// message are re-encoded into `out`. A body that does not decode to its last byte fails.
template <class M, class Fn>
rewrite_result with_response(const response_context& ctx, proto::bytes_view body, proto::writer& out, Fn&& fn) {
  proto::reader r(body);
  proto::response_header hdr;
  const std::int16_t hv = proto::response_header_version(ctx.api_key, ctx.api_version);
  hdr.decode(r, hv);
  M msg;
  msg.decode(r, ctx.api_version);
  if (!r.ok() || r.remaining() != 0) return std::unexpected(malformed_response(ctx, r));
  bool changed = false;
  if (auto done = fn(msg, changed); !done) return std::unexpected(std::move(done.error()));
  if (!changed) return rewrite_status::unchanged;
  hdr.encode(out, hv);
  msg.encode(out, ctx.api_version);
  return rewrite_status::rewritten;
}

}  // namespace

std::expected<void, std::string> address_rewriter::map_endpoint(std::int32_t node_id, std::string_view& host,
                                                                std::int32_t& port, bool& changed) {
  // Entries with no broker (node -1, as in a FindCoordinator error) carry no address. One that
  // has an address anyway (a broken or hostile upstream) loses it: there is no gateway port to
  // give it, and the upstream address must not reach the client.
  if (node_id < 0) return blank_endpoint(host, port, changed);
  auto gw_port = registry_.learn(node_id, host, port);
  if (!gw_port) return std::unexpected("no gateway port for broker " + std::to_string(node_id));
  host = advertised_host_;
  port = *gw_port;
  changed = true;
  return {};
}

namespace {

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

struct tagged_field {
  std::uint32_t tag;
  proto::bytes_view data;
  std::size_t size() const { return varint_size(tag) + varint_size(data.size()) + data.size(); }
};

// Unknown tagged fields that bring a tagged-field section to an exact length: every client skips
// tags it does not know. Numbered from 120 (far above the few tags Kafka defines, yet one byte,
// so two bytes can be padded) and above the fields already there, in order. Empty optional:
// `length` cannot be reached (one byte to spare, or too short).
std::optional<std::vector<std::size_t>> padding_for(std::size_t length, const std::vector<tagged_field>& fields,
                                                    std::uint32_t first_tag) {
  std::size_t used = 0;
  for (const auto& f : fields) used += f.size();
  // One pad of `room` bytes: tag, length, data.
  auto one = [&](std::int64_t room, std::uint32_t tag) -> std::optional<std::size_t> {
    for (std::size_t len_size = 1; len_size <= 3; ++len_size) {
      const std::int64_t data = room - static_cast<std::int64_t>(varint_size(tag) + len_size);
      if (data >= 0 && varint_size(static_cast<std::uint64_t>(data)) == len_size) return static_cast<std::size_t>(data);
    }
    return std::nullopt;
  };
  const auto room = [&](std::size_t pads) {
    return static_cast<std::int64_t>(length) - static_cast<std::int64_t>(varint_size(fields.size() + pads) + used);
  };
  if (room(0) == 0) return std::vector<std::size_t>{};
  if (auto d = one(room(1), first_tag)) return std::vector<std::size_t>{*d};
  for (std::int64_t first = 2; first <= 4; ++first) {  // a small pad, then the rest
    if (auto d1 = one(first, first_tag))
      if (auto d2 = one(room(2) - first, first_tag + 1)) return std::vector<std::size_t>{*d1, *d2};
  }
  return std::nullopt;
}

void write_tagged_fields(std::vector<std::byte>& out, const std::vector<tagged_field>& fields,
                         const std::vector<std::size_t>& pads, std::uint32_t first_pad_tag) {
  proto::writer w;
  w.uvarint(static_cast<std::uint32_t>(fields.size() + pads.size()));
  for (const auto& f : fields) {
    w.uvarint(f.tag);
    w.uvarint(static_cast<std::uint32_t>(f.data.size()));
    w.append(f.data);
  }
  std::uint32_t tag = first_pad_tag;
  for (std::size_t len : pads) {
    w.uvarint(tag++);
    w.uvarint(static_cast<std::uint32_t>(len));
    const std::vector<std::byte> zeros(len);
    w.append(zeros);
  }
  out = w.flatten();
}

}  // namespace

rewrite_result address_rewriter::rewrite_fetch_trailer(std::int16_t version, proto::bytes_view trailer,
                                                       bool same_length, std::vector<std::byte>& out) {
  std::vector<tagged_field> fields;
  const auto tags = proto::fetch_scanner::for_each_tag(
      trailer, [&](std::uint32_t tag, proto::bytes_view data) { fields.push_back({tag, data}); });
  if (!tags)
    return std::unexpected(std::string("malformed Fetch v") + std::to_string(version) +
                           " response: tagged fields: " + tags.error());
  auto endpoints = std::find_if(fields.begin(), fields.end(), [](const tagged_field& f) { return f.tag == 0; });
  if (version < 16 || endpoints == fields.end()) return rewrite_status::unchanged;

  // NodeEndpoints: a compact array of {node_id, host, port, rack, tagged fields}.
  proto::reader r(endpoints->data);
  const std::int32_t n = r.array_length(true);
  std::vector<proto::fetch_response::node_endpoint> list(n > 0 ? static_cast<std::size_t>(n) : 0);
  for (auto& e : list) e.decode(r, version);
  if (!r.ok() || r.remaining() != 0 || n < 0) {
    return std::unexpected(std::string("malformed Fetch v") + std::to_string(version) + " response: node endpoints: " +
                           (r.ok() ? "trailing bytes" : r.error().what));
  }
  bool changed = false;
  for (auto& e : list)
    if (auto mapped = map_endpoint(e.node_id, e.host, e.port, changed); !mapped)
      return std::unexpected(std::move(mapped.error()));
  if (!changed) return rewrite_status::unchanged;
  proto::writer w;
  w.array_length(static_cast<std::int64_t>(list.size()), true);
  for (const auto& e : list) e.encode(w, version);
  const std::vector<std::byte> encoded = w.flatten();
  endpoints->data = encoded;

  if (!same_length) {
    write_tagged_fields(out, fields, {}, 0);
    return rewrite_status::rewritten;
  }
  const std::uint32_t pad_tag = std::max<std::uint32_t>(120, fields.back().tag + 1);
  if (auto pads = padding_for(trailer.size(), fields, pad_tag)) {
    write_tagged_fields(out, fields, *pads, pad_tag);
    return rewrite_status::rewritten;
  }
  // The gateway's endpoints do not fit where the broker's were: withhold them (never pass the
  // broker's). The client then finds the new leader through Metadata, as before KIP-951.
  fields.erase(endpoints);
  if (auto pads = padding_for(trailer.size(), fields, pad_tag)) {
    write_tagged_fields(out, fields, *pads, pad_tag);
    return rewrite_status::rewritten;
  }
  return std::unexpected("Fetch v" + std::to_string(version) + " response: node endpoints cannot be rewritten in place");
}

rewrite_result address_rewriter::rewrite_fetch(const response_context& ctx, proto::bytes_view body,
                                               proto::writer& out) {
  proto::fetch_scanner scan(ctx.api_version, body.size());
  struct piece {
    std::size_t at, size;
    bool records;
  };
  std::vector<piece> pieces;  // body ranges kept as they are, borrowed
  for (;;) {
    const std::size_t at = scan.position();
    const auto s = scan.next(body.subspan(at));
    using kind = proto::fetch_scanner::kind;
    if (s.what == kind::failed || s.what == kind::need_more) {
      return std::unexpected(std::string("malformed Fetch v") + std::to_string(ctx.api_version) + " response: " +
                             (scan.error() ? scan.error() : "truncated") + " at byte " + std::to_string(at));
    }
    if (s.what == kind::trailer) break;
    // Each records payload is a piece of its own; structure joins the structure before it.
    const bool records = s.what == kind::opaque;
    if (!records && !pieces.empty() && !pieces.back().records)
      pieces.back().size += s.bytes;
    else
      pieces.push_back({at, s.bytes, records});
  }
  std::vector<std::byte> trailer;
  const auto st = rewrite_fetch_trailer(ctx.api_version, body.subspan(scan.position()), false, trailer);
  if (st != rewrite_status::rewritten) return st;
  for (const auto& p : pieces) out.borrow(body.subspan(p.at, p.size));
  out.append(trailer);
  return rewrite_status::rewritten;
}

void address_rewriter::filter_apis(std::vector<api_range>& ranges) const {
  if (api_allowed_)
    std::erase_if(ranges, [&](const api_range& r) { return !api_allowed_(r.api_key, api_allowed_ctx_); });
}

namespace {

using mapped = std::expected<void, std::string>;

// The broker addresses of one decoded response pointed at the gateway (the same for a response
// decoded here and one the policy chain decoded). An error: no gateway port.
template <class Map>
mapped map_addresses(proto::metadata_response& m, std::int16_t, bool& changed, Map&& map) {
  for (auto& b : m.brokers)
    if (auto r = map(b.node_id, b.host, b.port, changed); !r) return r;
  return {};
}
template <class Map>
mapped map_addresses(proto::find_coordinator_response& m, std::int16_t version, bool& changed, Map&& map) {
  // An entry with an error names no coordinator (no port is bound for it); an address it
  // carries anyway is blanked, as for a node without an id.
  auto one = [&](std::int16_t error, std::int32_t node_id, std::string_view& host, std::int32_t& port) {
    return error == 0 ? map(node_id, host, port, changed) : blank_endpoint(host, port, changed);
  };
  if (version < 4) return one(m.error_code, m.node_id, m.host, m.port);
  for (auto& c : m.coordinators)
    if (auto r = one(c.error_code, c.node_id, c.host, c.port); !r) return r;
  return {};
}
template <class Map>
mapped map_addresses(proto::describe_cluster_response& m, std::int16_t, bool& changed, Map&& map) {
  for (auto& b : m.brokers)
    if (auto r = map(b.broker_id, b.host, b.port, changed); !r) return r;
  return {};
}
// Produce v10+ and Fetch v16+: the KIP-951 node endpoints.
template <class M, class Map>
  requires requires(M m) { m.node_endpoints; }
mapped map_addresses(M& m, std::int16_t, bool& changed, Map&& map) {
  for (auto& e : m.node_endpoints)
    if (auto r = map(e.node_id, e.host, e.port, changed); !r) return r;
  return {};
}

template <class M, class Map>
mapped map_decoded(policies::response_exchange& ex, Map&& map) {
  const auto m = ex.message<M>();
  if (!m) return std::unexpected(m.error());
  bool changed = false;
  if (auto r = map_addresses(**m, ex.api_version, changed, map); !r) return r;
  if (changed) ex.rewrote();
  return {};
}

}  // namespace

std::expected<void, std::string> address_rewriter::rewrite_decoded(policies::response_exchange& ex) {
  auto map = [&](std::int32_t node_id, std::string_view& host, std::int32_t& port, bool& changed) {
    return map_endpoint(node_id, host, port, changed);
  };
  if (!proto::carries_addresses(ex.api_key, ex.api_version)) return {};
  switch (ex.api_key) {
    case api::metadata: return map_decoded<proto::metadata_response>(ex, map);
    case api::find_coordinator: return map_decoded<proto::find_coordinator_response>(ex, map);
    case api::describe_cluster: return map_decoded<proto::describe_cluster_response>(ex, map);
    case api::produce: return map_decoded<proto::produce_response>(ex, map);
    case api::fetch: return map_decoded<proto::fetch_response>(ex, map);
    default:
      return std::unexpected(std::string("the gateway cannot rewrite the addresses of a decoded ") +
                             proto::api_name(ex.api_key) + " response");
  }
}

rewrite_result address_rewriter::rewrite(const response_context& ctx, proto::bytes_view body, proto::writer& out) {
  auto map = [&](std::int32_t node_id, std::string_view& host, std::int32_t& port, bool& changed) {
    return this->map_endpoint(node_id, host, port, changed);
  };
  auto rewrite_as = [&]<class M>(std::type_identity<M>) {
    return with_response<M>(ctx, body, out,
                            [&](M& m, bool& changed) { return map_addresses(m, ctx.api_version, changed, map); });
  };

  switch (ctx.api_key) {
    case api::metadata: return rewrite_as(std::type_identity<proto::metadata_response>{});
    case api::find_coordinator: return rewrite_as(std::type_identity<proto::find_coordinator_response>{});
    case api::describe_cluster: return rewrite_as(std::type_identity<proto::describe_cluster_response>{});
    case api::produce: return rewrite_as(std::type_identity<proto::produce_response>{});
    case api::fetch:
      return rewrite_fetch(ctx, body, out);
    case api::api_versions:
      // An error answer (the broker does not speak the requested version) is sent in a format of
      // the broker's choosing (Kafka: v0) and grants nothing but a version to retry with: pass it.
      if (body.size() >= 6 && (body[4] != std::byte{0} || body[5] != std::byte{0})) return rewrite_status::unchanged;
      return with_response<proto::api_versions_response>(ctx, body, out, [&](auto& m, bool& changed) -> mapped {
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
        return {};
      });
    default:
      return rewrite_status::unchanged;
  }
}

}  // namespace kgw::gateway

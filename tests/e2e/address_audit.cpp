#include "tests/e2e/address_audit.h"

#include <algorithm>
#include <string_view>

#include "protocol/api_keys.h"
#include "protocol/describe_cluster.h"
#include "protocol/fetch.h"
#include "protocol/find_coordinator.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/produce.h"
#include "protocol/wire.h"

namespace kgw::e2e {
namespace {

namespace p = kgw::protocol;

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string frame_id(std::int16_t key, std::int16_t version) {
  const p::api_info* a = p::find_api(key);
  return std::string(a ? a->name : "api") + "(" + std::to_string(key) + ") v" + std::to_string(version);
}

}  // namespace

address_audit::address_audit(std::string advertised_host, std::uint16_t first_port, std::uint16_t last_port,
                             std::string upstream_host, std::vector<std::uint16_t> upstream_ports)
    : advertised_host_(std::move(advertised_host)),
      first_port_(first_port),
      last_port_(last_port),
      upstream_host_(std::move(upstream_host)),
      upstream_ports_(std::move(upstream_ports)) {
  for (std::uint16_t port : upstream_ports_) {
    ascii_needles_.push_back(upstream_host_ + ":" + std::to_string(port));
    host_port_needles_.push_back(upstream_host_ + be32(port));
    bare_port_needles_.push_back(be32(port));
  }
}

void address_audit::check_address(const char* where, std::int32_t node_id, std::string_view host, std::int32_t port,
                                  std::vector<std::string>& out, std::size_t& checked) const {
  ++checked;
  if (host != advertised_host_ || port < first_port_ || port > last_port_)
    out.push_back(std::string(where) + ": node " + std::to_string(node_id) + " at " + std::string(host) + ":" +
                  std::to_string(port) + " is not " + advertised_host_ + ":[" + std::to_string(first_port_) + "-" +
                  std::to_string(last_port_) + "]");
}

void address_audit::decode_and_check(std::int16_t key, std::int16_t version, std::span<const std::byte> body,
                                     std::vector<std::string>& out, std::size_t& checked) const {
  const bool interesting = key == 3 || key == 10 || key == 60 || (key == 0 && version >= 10) || (key == 1 && version >= 16);
  if (!interesting) return;
  const std::string id = frame_id(key, version);
  p::reader r(body);
  p::response_header header;
  header.decode(r, p::response_header_version(key, version));
  auto finish = [&](auto& message) {
    message.decode(r, version);
    if (!r.ok())
      out.push_back(id + ": does not decode: " + r.error().what + " at byte " + std::to_string(r.error().offset));
    else if (r.remaining() != 0)
      out.push_back(id + ": " + std::to_string(r.remaining()) + " trailing bytes after the message");
    return r.ok() && r.remaining() == 0;
  };
  switch (key) {
    case 3: {
      p::metadata_response m;
      if (finish(m))
        for (const auto& b : m.brokers) check_address("Metadata broker", b.node_id, b.host, b.port, out, checked);
      break;
    }
    case 10: {
      p::find_coordinator_response m;
      if (!finish(m)) break;
      if (version < 4) {
        if (m.error_code == 0) check_address("FindCoordinator", m.node_id, m.host, m.port, out, checked);
      } else {
        for (const auto& c : m.coordinators)
          if (c.error_code == 0) check_address("FindCoordinator coordinator", c.node_id, c.host, c.port, out, checked);
      }
      break;
    }
    case 60: {
      p::describe_cluster_response m;
      if (finish(m))
        for (const auto& b : m.brokers) check_address("DescribeCluster broker", b.broker_id, b.host, b.port, out, checked);
      break;
    }
    case 0: {
      p::produce_response m;
      if (finish(m))
        for (const auto& e : m.node_endpoints) check_address("Produce node endpoint", e.node_id, e.host, e.port, out, checked);
      break;
    }
    case 1: {
      p::fetch_response m;
      if (finish(m))
        for (const auto& e : m.node_endpoints) check_address("Fetch node endpoint", e.node_id, e.host, e.port, out, checked);
      break;
    }
  }
}

void address_audit::scan_bytes(std::int16_t key, std::int16_t version, std::span<const std::byte> body,
                               std::vector<std::string>& out) const {
  const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  for (std::size_t i = 0; i < upstream_ports_.size(); ++i) {
    const std::string port = std::to_string(upstream_ports_[i]);
    if (auto at = text.find(ascii_needles_[i]); at != std::string_view::npos)
      out.push_back(frame_id(key, version) + ": upstream address text \"" + ascii_needles_[i] + "\" at byte " +
                    std::to_string(at));
    if (auto at = text.find(host_port_needles_[i]); at != std::string_view::npos)
      out.push_back(frame_id(key, version) + ": upstream host + port " + port + " (int32) at byte " + std::to_string(at));
    if (key != 1 && text.size() > 4) {
      if (auto at = text.find(bare_port_needles_[i], 4); at != std::string_view::npos)
        out.push_back(frame_id(key, version) + ": upstream port " + port + " as int32 at byte " + std::to_string(at));
    }
  }
}

void address_audit::inspect(std::int16_t api_key, std::int16_t api_version, std::span<const std::byte> body) {
  std::vector<std::string> found;
  std::size_t checked = 0;
  decode_and_check(api_key, api_version, body, found, checked);
  scan_bytes(api_key, api_version, body, found);
  std::lock_guard lock(mu_);
  ++summary_.responses[api_key];
  summary_.addresses_checked += checked;
  for (auto& v : found)
    if (summary_.violations.size() < 50) summary_.violations.push_back(std::move(v));
}

address_audit::summary address_audit::snapshot() const {
  std::lock_guard lock(mu_);
  return summary_;
}

}  // namespace kgw::e2e

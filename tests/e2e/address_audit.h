#pragma once
// Checks every response frame the gateway sends to clients (installed as the gateway's response
// tap) for leaked upstream broker addresses.
//
// Two independent checks, so a bug in one cannot hide a leak:
// 1. Decode: Metadata (3), FindCoordinator (10), DescribeCluster (60) and the KIP-951
//    NodeEndpoints of Produce (v10+) / Fetch (v16+) are decoded with the protocol codec; every
//    broker/coordinator address must be advertised_host with a port in the gateway's range, and
//    the body must decode completely (no trailing bytes).
// 2. Byte scan: no response may contain, for any upstream port P, the text "127.0.0.1:P" or the
//    bytes of an upstream host string directly followed by P as a big-endian int32 (that is how
//    every Kafka address struct is laid out). Outside Fetch responses (whose record payloads are
//    arbitrary bytes) a bare big-endian int32 P is a leak too; the correlation id is skipped.
//    Upstream ports are ephemeral (>= 32768), which no offset, count or id in these tests reaches.
//
// Threading: inspect() is called on gateway worker threads concurrently; it takes a mutex only to
// record results. snapshot() may be called from any thread.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace kgw::e2e {

class address_audit {
 public:
  address_audit(std::string advertised_host, std::uint16_t first_port, std::uint16_t last_port,
                std::string upstream_host, std::vector<std::uint16_t> upstream_ports);

  void inspect(std::int16_t api_key, std::int16_t api_version, std::span<const std::byte> body);

  struct summary {
    std::map<std::int16_t, std::size_t> responses;  // api key -> frames seen
    std::size_t addresses_checked = 0;              // decoded broker/coordinator addresses
    std::vector<std::string> violations;            // first 50
  };
  summary snapshot() const;

 private:
  void check_address(const char* where, std::int32_t node_id, std::string_view host, std::int32_t port,
                     std::vector<std::string>& out, std::size_t& checked) const;
  void decode_and_check(std::int16_t key, std::int16_t version, std::span<const std::byte> body,
                        std::vector<std::string>& out, std::size_t& checked) const;
  void scan_bytes(std::int16_t key, std::int16_t version, std::span<const std::byte> body,
                  std::vector<std::string>& out) const;

  const std::string advertised_host_;
  const std::uint16_t first_port_, last_port_;
  const std::string upstream_host_;
  const std::vector<std::uint16_t> upstream_ports_;
  std::vector<std::string> ascii_needles_;       // "127.0.0.1:P"
  std::vector<std::string> host_port_needles_;   // "127.0.0.1" + be32(P)
  std::vector<std::string> bare_port_needles_;   // be32(P)

  mutable std::mutex mu_;
  summary summary_;
};

}  // namespace kgw::e2e

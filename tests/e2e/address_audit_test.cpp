// Self-test of the address audit: it must flag an unrewritten response and accept a rewritten
// one, otherwise "no violations" in the e2e tests would prove nothing. No broker, no gateway.
#include <catch2/catch.hpp>

#include "protocol/find_coordinator.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/wire.h"
#include "tests/e2e/address_audit.h"

namespace kgw::e2e {
namespace {

namespace p = kgw::protocol;

constexpr std::uint16_t first = 21000, last = 21010;
const std::vector<std::uint16_t> upstream{40001, 40002, 40003};

template <class Message>
std::vector<std::byte> frame(const Message& m, std::int16_t version, std::int16_t header_version) {
  p::writer w;
  p::response_header h;
  h.correlation_id = 7;
  h.encode(w, header_version);
  m.encode(w, version);
  return w.flatten();
}

p::metadata_response metadata(std::uint16_t base_port) {
  p::metadata_response m;
  for (int id = 1; id <= 3; ++id) {
    p::metadata_response::metadata_response_broker b;
    b.node_id = id;
    b.host = "127.0.0.1";
    b.port = base_port + id;
    m.brokers.push_back(b);
  }
  return m;
}

}  // namespace

TEST_CASE("address audit: flags upstream addresses, accepts rewritten ones", "[e2e][audit]") {
  SECTION("rewritten Metadata v2 and v9 (flexible) pass") {
    address_audit audit("127.0.0.1", first, last, "127.0.0.1", upstream);
    audit.inspect(3, 2, frame(metadata(first), 2, 0));
    audit.inspect(3, 9, frame(metadata(first), 9, 1));
    const auto s = audit.snapshot();
    CHECK(s.violations.empty());
    CHECK(s.addresses_checked == 6);
  }
  SECTION("upstream Metadata is caught by decoding and by the byte scan") {
    address_audit audit("127.0.0.1", first, last, "127.0.0.1", upstream);
    audit.inspect(3, 2, frame(metadata(40000), 2, 0));
    const auto s = audit.snapshot();
    // 3 decoded brokers out of range + 3 host+port patterns + 3 bare ports
    CHECK(s.violations.size() == 9);
  }
  SECTION("wrong host is caught") {
    address_audit audit("gw.example", first, last, "127.0.0.1", upstream);
    audit.inspect(3, 1, frame(metadata(first), 1, 0));
    CHECK(audit.snapshot().violations.size() == 3);
  }
  SECTION("FindCoordinator: error responses are not addresses; v4 coordinators are checked") {
    address_audit audit("127.0.0.1", first, last, "127.0.0.1", upstream);
    p::find_coordinator_response err;
    err.error_code = 15;  // COORDINATOR_NOT_AVAILABLE
    err.node_id = -1;
    err.port = -1;
    audit.inspect(10, 2, frame(err, 2, 0));
    CHECK(audit.snapshot().violations.empty());
    p::find_coordinator_response v4;
    p::find_coordinator_response::coordinator c;
    c.key = "group";
    c.node_id = 2;
    c.host = "127.0.0.1";
    c.port = 40002;
    v4.coordinators.push_back(c);
    audit.inspect(10, 4, frame(v4, 4, 1));
    CHECK(audit.snapshot().violations.size() == 3);  // decoded + host+port + bare port
  }
  SECTION("upstream address as text anywhere, and truncated frames, are caught") {
    address_audit audit("127.0.0.1", first, last, "127.0.0.1", upstream);
    using namespace std::string_literals;
    const std::string text = "\x00\x00\x00\x07 see 127.0.0.1:40003 for details"s;  // embedded NULs
    audit.inspect(18, 0, p::as_bytes(text));
    auto good = frame(metadata(first), 2, 0);
    good.resize(good.size() - 3);
    audit.inspect(3, 2, good);
    const auto s = audit.snapshot();
    REQUIRE(s.violations.size() == 2);
    CHECK(s.violations[0].find("127.0.0.1:40003") != std::string::npos);
    CHECK(s.violations[1].find("does not decode") != std::string::npos);
  }
}

}  // namespace kgw::e2e

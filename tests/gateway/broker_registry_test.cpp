#include <catch2/catch.hpp>
#include <set>

#include "gateway/broker_registry.h"

using kgw::gateway::broker_registry;

TEST_CASE("broker ids map to first + id and bind their port once") {
  std::vector<std::uint16_t> bound;
  broker_registry reg(20000, 20005, [&](std::uint16_t p) {
    bound.push_back(p);
    return true;
  });
  CHECK(reg.learn(1, "10.0.0.1", 9092) == 20001);
  CHECK(reg.learn(3, "10.0.0.3", 9092) == 20003);
  CHECK(reg.learn(1, "10.0.0.1", 9092) == 20001);  // known: no second bind
  CHECK(bound == std::vector<std::uint16_t>{20001, 20003});
  auto t = reg.for_port(20003);
  REQUIRE(t);
  CHECK(t->node_id == 3);
  CHECK(t->upstream.str() == "10.0.0.3:9092");
  CHECK_FALSE(reg.for_port(20002));
}

TEST_CASE("ids outside the range take free ports from the top; exhaustion fails closed") {
  broker_registry reg(20000, 20002, [](std::uint16_t) { return true; });
  CHECK(reg.learn(1001, "a", 1) == 20002);
  CHECK(reg.learn(1002, "b", 1) == 20001);
  CHECK(reg.learn(0, "c", 1) == 20000);
  CHECK_FALSE(reg.learn(1003, "d", 1));  // no port left: caller must not leak the address
  CHECK_FALSE(reg.learn(-1, "e", 1));    // "no broker" entries get no port
}

TEST_CASE("a broker that moves keeps its port; a failed bind gives no port") {
  int calls = 0;
  broker_registry reg(20000, 20010, [&](std::uint16_t p) {
    ++calls;
    return p != 20004;
  });
  CHECK(reg.learn(2, "old", 9092) == 20002);
  CHECK(reg.learn(2, "new", 9093) == 20002);
  CHECK(reg.for_port(20002)->upstream.str() == "new:9093");
  CHECK_FALSE(reg.learn(4, "x", 9092));
  CHECK(calls == 2);
  CHECK(reg.all().size() == 2);
}

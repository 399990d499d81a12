#pragma once
// An address rewriter for tests: brokers get gateway ports 30000-30009 on "gw.local"; nothing is
// bound (the ports the registry would bind are recorded in `bound`).
// Threading: one test's thread.
#include <cstdint>
#include <vector>

#include "gateway/address_rewriter.h"
#include "gateway/broker_registry.h"

namespace kgw::gateway::testing {

struct test_rewriter {
  std::vector<std::uint16_t> bound;
  broker_registry reg{30000, 30009, [this](std::uint16_t p) {
                        bound.push_back(p);
                        return true;
                      }};
  address_rewriter rw{reg, "gw.local"};
};

}  // namespace kgw::gateway::testing

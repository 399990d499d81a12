#pragma once
// What views and validation did since start-up, counted from the decision stream's records
// events (policies/decision.h): the minute summary in the log and gateway::governance() read it.
// Threading: add() is a decision_stream subscriber, called on any worker (relaxed atomics).
#include <atomic>
#include <cstdint>

#include "policies/decision.h"

namespace kgw::gateway {

struct governance_counters {
#define KGW_COUNTER(name) std::atomic<std::uint64_t> name{0};
  KGW_DECISION_TALLIES(KGW_COUNTER)
#undef KGW_COUNTER

  void add(const policies::decision& d) {
    if (d.kind != policies::decision_kind::records) return;
#define KGW_COUNT(name) \
  if (const auto n = d.counts[static_cast<std::size_t>(policies::tally::name)]) name.fetch_add(n, std::memory_order_relaxed);
    KGW_DECISION_TALLIES(KGW_COUNT)
#undef KGW_COUNT
  }
};

}  // namespace kgw::gateway

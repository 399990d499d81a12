#pragma once
// What a decision-stream subscriber keeps per (principal, topic, API) — metric series, audit
// rollup cells — found once per thread, then without a lock: each thread keeps its own map,
// for one owner at a time (an object's serial: a new metrics registry or audit log in the same
// process, as in tests, starts a new map). Bounded: past `max` entries the map starts over (the
// entries point at what the owner keeps, nothing is lost).
// Threading: use as a thread_local; only its thread touches it.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "policies/decision.h"

namespace kgw::gateway {

template <class V>
class decision_cache {
 public:
  // The entry for d's (principal, resource, API key), and whether it was there already; a new
  // one is default-constructed for the caller to fill in.
  std::pair<V*, bool> find(std::uint64_t owner, const policies::decision& d, std::size_t max = 4096) {
    if (owner_ != owner) {
      entries_.clear();
      owner_ = owner;
    }
    key_.assign(d.principal).push_back('\0');
    key_.append(d.resource).push_back('\0');
    key_ += std::to_string(d.api_key);
    if (auto it = entries_.find(key_); it != entries_.end()) return {&it->second, true};
    if (entries_.size() >= max) entries_.clear();
    return {&entries_.emplace(key_, V{}).first->second, false};
  }
  // The key of the last find(): "principal\0resource\0api_key".
  const std::string& key() const { return key_; }

 private:
  std::uint64_t owner_ = 0;
  std::unordered_map<std::string, V> entries_;
  std::string key_;
};

}  // namespace kgw::gateway

#pragma once
// Topic id <-> name, for requests and responses that name topics by id (Fetch v13+, Metadata
// v10+ answers). Learnt from every Metadata response the worker relays; a miss is looked up by
// the session (a Metadata request of its own) and recorded here.
// Threading: one per worker, used on that worker's thread only (no lock).
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/wire.h"

namespace kgw::policies {

class topic_names {
 public:
  void learn(const protocol::uuid& id, std::string_view name) {
    if (id == protocol::uuid{} || name.empty()) return;
    by_id_[id] = std::string(name);
  }
  // nullptr: unknown id.
  const std::string* name(const protocol::uuid& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &it->second;
  }
  std::size_t size() const { return by_id_.size(); }

 private:
  std::map<protocol::uuid, std::string> by_id_;
};

}  // namespace kgw::policies

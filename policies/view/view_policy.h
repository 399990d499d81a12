#pragma once
// The view policy: a principal's topic views (row filter + masks, topic_view.h) as the record
// stage of each topic it fetches. Views name topics, so it also keeps topic ids nameable: it
// learns ids from Metadata v10+ answers and asks the chain to look up the ids of a Fetch v13+
// request the worker has not learnt yet (a client's Metadata may have gone through another
// worker). A view that does not compile fails its topic closed.
// Threading: compiled once per (generation, principal); immutable, shared by every worker.
#include <memory>
#include <string_view>

namespace kgw::policies {

class policy;
class policy_set;

// Null when the configuration has no view.
std::shared_ptr<const policy> compile_view_policy(policy_set& snapshot, std::string_view principal);

}  // namespace kgw::policies

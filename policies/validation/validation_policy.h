#pragma once
// The validation policy: Produce records of a topic with validation rules must pass them (the
// value is JSON and carries the required fields). A partition with a record that does not is
// taken out of the request and answered INVALID_RECORD (87) with the reason, as a broker rejects
// a batch; the other partitions go through. A validator that does not compile fails its topic's
// partitions closed the same way.
// Threading: compiled once per (generation, principal); immutable, shared by every worker.
#include <cstdint>
#include <functional>
#include <memory>
#include <expected>
#include <string>
#include <string_view>

#include "protocol/wire.h"

namespace kgw::policies {

class policy;
class policy_set;
struct decision_origin;

// Checks one partition's records: every record passes, or why not (the message its
// INVALID_RECORD carries). origin: where to report a rejection.
using produce_check = std::function<std::expected<void, std::string>(
    std::string_view topic, std::int32_t partition, protocol::bytes_view records, const decision_origin& origin)>;

// Null when the configuration has no validation rule.
std::shared_ptr<const policy> compile_validation_policy(policy_set& snapshot, std::string_view principal);
// The policy around any check (the registry's checks the snapshot's compiled validators).
std::shared_ptr<const policy> make_validation_policy(produce_check check);

}  // namespace kgw::policies

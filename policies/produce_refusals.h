#pragma once
// Produce partitions a policy refuses (validation: INVALID_RECORD; encryption: INVALID_RECORD or
// a retriable KAFKA_STORAGE_ERROR while no data key is ready): taken out of the decoded request,
// the rest forwarded, and their errors put back into the broker's response, or the whole request
// answered by the gateway when nothing is left. Shared by every policy that governs Produce
// records.
// Threading: per request, on the session's thread.
#include <functional>
#include <optional>
#include <string_view>

#include "policies/entry_errors.h"
#include "policies/policy.h"
#include "protocol/produce.h"

namespace kgw::policies {

// What a policy took out of a Produce request, to put back into its response.
struct produce_refusals : response_step {
  std::vector<topic_error> topics;
};

// The decoded Produce request, or the verdict that closes the connection: a request that does
// not decode cannot be governed.
std::expected<protocol::produce_request*, request_verdict> produce_message(request_exchange& ex);

// Asks `check` about each partition with records (it may rewrite them); a partition it refuses
// (an error returned) is taken out and reported as a denied entry of its topic. The verdict:
// forward unchanged when nothing was refused; forward without them (a step puts their errors
// back); or, nothing left, the gateway's own answer (acks=0: dropped).
request_verdict refuse_partitions(
    request_exchange& ex, protocol::produce_request& req,
    const std::function<std::optional<partition_error>(std::string_view topic,
                                                       protocol::produce_request::partition_produce_data&)>& check);

// The response half: a refusals step's errors go back into the Produce response.
std::expected<void, std::string> put_back_refusals(const response_step* step, response_exchange& ex);

}  // namespace kgw::policies

#pragma once
// Entries a policy took out of a request, with the Kafka error each gets in the response, and
// putting them back into a Produce response: the shape the ACL (denied topics) and validation
// (invalid records) policies share.
// Threading: plain values and a pure function.
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace kgw::protocol {
struct produce_response;
}

namespace kgw::policies {

struct partition_error {
  std::int32_t partition = 0;
  std::int16_t error = 0;
  std::string message;  // Produce INVALID_RECORD: the validation message
};

// A topic (or some of its partitions) taken out of a request.
struct topic_error {
  std::string name;
  bool name_null = false;  // requested by id (Metadata v12+, DeleteTopics v6): name stays null
  protocol::uuid id{};
  std::int16_t error = 0;  // topic-level error (Metadata, CreateTopics, DeleteTopics, ...)
  std::vector<partition_error> partitions;
};

// Adds each partition of `errors` to the response (into the topic of the same name, else a new
// one): offsets -1, the error, and its message (a partition's own message also as a record
// error, as brokers report INVALID_RECORD). The views it adds point into `errors`.
void put_produce_errors(protocol::produce_response& resp, const std::vector<topic_error>& errors);

}  // namespace kgw::policies

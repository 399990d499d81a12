#pragma once
// What the relay reads of a request without decoding it: the client id from the header, and a
// Produce request's topics and records fields (for the traffic a principal sends per topic:
// chargeback metrics and the audit trail's rollups). Views into the body; nothing is copied.
// Threading: pure functions.
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string_view>

#include "protocol/wire.h"

namespace kgw::protocol {

// body: a request frame without its size, header first. The header's client id (null: none),
// or nothing when the header is cut short.
std::optional<std::optional<std::string_view>> request_client_id(bytes_view body);

// Calls fn(topic, records) for each partition of a Produce request (any version 0-11) that
// carries records. body: the frame without its size, header first. Why not, when it is
// malformed (static text); the partitions before that point were already reported.
std::expected<void, const char*> walk_produce(std::int16_t version, bytes_view body,
                                              const std::function<void(std::string_view, bytes_view)>& fn);

// Calls fn(topic, topic_id, partition, fetch_offset) for each partition a Fetch request (any
// version 0-17) asks for: topic by name before v13, by id from v13. Stops after the topics (the
// forgotten topics and rack id are not read). Why not, when it is malformed.
std::expected<void, const char*> walk_fetch(
    std::int16_t version, bytes_view body,
    const std::function<void(std::string_view, const uuid&, std::int32_t, std::int64_t)>& fn);

}  // namespace kgw::protocol

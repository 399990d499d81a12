#pragma once
// audit.fail: closed. While the audit trail cannot take more events (its queue is full or a sink
// is down), data requests are not served: a Produce or Fetch is answered by the gateway, every
// partition with KAFKA_STORAGE_ERROR (retriable: producers retry, consumers back off and
// refetch, as when a broker's log directory is offline) and a throttle of one second (KIP-219:
// clients wait that long before the next request). Nothing is forwarded, so nothing is produced
// or delivered that the trail could not record. Other APIs go on (group membership, metadata),
// so clients keep their sessions and resume as soon as the trail does.
// Threading: pure functions.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace kgw::policies::audit {

inline constexpr std::int32_t unavailable_throttle_ms = 1000;

// The answer (body with header, no size prefix) to a Produce or Fetch request (body: the frame
// without its size, header first). nullopt: an acks=0 Produce, which gets no answer (it is
// dropped). An error: the request does not decode.
std::expected<std::optional<std::vector<std::byte>>, std::string> unavailable_answer(std::int16_t api_key,
                                                                                    std::int16_t version,
                                                                                    protocol::bytes_view body);

}  // namespace kgw::policies::audit

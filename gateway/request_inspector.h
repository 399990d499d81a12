#pragma once
// Looks at a client request just enough to relay it: header (api key, version, correlation id)
// and, for Produce, acks (acks=0 gets no response). Decides: forward as received, forward a
// replacement (ApiVersions at a version the gateway cannot decode), or refuse.
// Threading: pure function.
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace kgw::gateway {

struct request_info {
  enum class action { forward, replace, refuse };
  action what = action::forward;
  std::int16_t api_key = -1;
  std::int16_t api_version = -1;      // as sent by the client
  std::int16_t upstream_version = -1;  // as forwarded (differs only when replaced)
  std::int32_t correlation_id = 0;
  bool expects_response = true;
  bool unsupported_api_versions = false;
  std::vector<std::byte> replacement;  // action::replace: the body to send instead
  std::string reason;                  // action::refuse: why, for the log
};

// body: the request frame without its 4-byte size.
request_info inspect_request(protocol::bytes_view body);

}  // namespace kgw::gateway

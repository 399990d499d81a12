#pragma once
// Encodes complete frames (header + body): requests for the gateway's own questions to brokers
// and for tests, responses for the answers the gateway gives itself; and decodes a response
// frame back (tests, tools). Threading: pure functions.
#include <cstdint>
#include <string_view>

#include "protocol/headers.h"
#include "protocol/wire.h"

namespace kgw::protocol {

// with_size: prefix the 4-byte frame size, ready to send; otherwise the frame body only.
template <class Request>
writer encode_request(const Request& req, std::int16_t version, std::int32_t correlation_id,
                      std::string_view client_id, bool with_size = true) {
  writer w;
  const std::size_t at = with_size ? w.reserve_i32() : 0;
  request_header h;
  h.request_api_key = Request::api_key;
  h.request_api_version = version;
  h.correlation_id = correlation_id;
  h.client_id = client_id;
  h.encode(w, request_header_version(Request::api_key, version));
  req.encode(w, version);
  if (with_size) w.patch_i32(at, static_cast<std::int32_t>(w.size() - 4));
  return w;
}

// A response to (Response::api_key, version), header included; with_size as above.
template <class Response>
writer encode_response(const Response& resp, std::int16_t version, std::int32_t correlation_id, bool with_size = true) {
  writer w;
  const std::size_t at = with_size ? w.reserve_i32() : 0;
  response_header h;
  h.correlation_id = correlation_id;
  h.encode(w, response_header_version(Response::api_key, version));
  resp.encode(w, version);
  if (with_size) w.patch_i32(at, static_cast<std::int32_t>(w.size() - 4));
  return w;
}

// The message of a whole response frame to (Response::api_key, version), `frame` from its size
// prefix on; its correlation id too if asked. False unless header and message decode and use
// every byte.
template <class Response>
bool decode_response(bytes_view frame, std::int16_t version, Response& out, std::int32_t* correlation_id = nullptr) {
  if (frame.size() < 4) return false;
  reader r(frame.subspan(4));
  response_header h;
  h.decode(r, response_header_version(Response::api_key, version));
  out.decode(r, version);
  if (correlation_id) *correlation_id = h.correlation_id;
  return r.ok() && r.remaining() == 0;
}

}  // namespace kgw::protocol

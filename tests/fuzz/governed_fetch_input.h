#pragma once
// The Fetch responses of the governed-Fetch fuzz target (governed_fetch_fuzz.cpp), shared with
// the seed writer: record values written as batches of up to three records (offsets 0, 1, ...)
// into partition 0 of `orders`, named by id from v13.
// Threading: pure functions.
#include <algorithm>
#include <string_view>
#include <vector>

#include "protocol/api_keys.h"
#include "protocol/fetch.h"
#include "protocol/headers.h"
#include "protocol/record_batch.h"

namespace kgw::fuzz {

inline protocol::uuid orders_topic_id() {
  protocol::uuid u{};
  u[0] = std::byte{0xAB};
  u[15] = std::byte{1};
  return u;
}

// At most 64 values, one per line.
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> values;
  for (std::size_t at = 0; at <= text.size() && values.size() < 64;) {
    const std::size_t nl = std::min(text.find('\n', at), text.size());
    values.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return values;
}

// The response body (header first, no size prefix); empty when a batch does not encode.
inline std::vector<std::byte> orders_fetch_response(std::int16_t v, protocol::compression_codec codec,
                                                    const std::vector<std::string_view>& values) {
  std::vector<std::byte> records;
  for (std::size_t first = 0; first < values.size(); first += 3) {
    const std::size_t n = std::min<std::size_t>(3, values.size() - first);
    protocol::batch_header h;
    h.base_offset = static_cast<std::int64_t>(first);
    h.attributes = static_cast<std::int16_t>(codec);
    h.last_offset_delta = static_cast<std::int32_t>(n - 1);
    h.base_timestamp = h.max_timestamp = 1'700'000'000'000;
    std::vector<protocol::record_to_write> w(n);
    for (std::size_t i = 0; i < n; ++i) {
      w[i].offset_delta = static_cast<std::int32_t>(i);
      w[i].key = protocol::as_bytes("k");
      w[i].value = protocol::as_bytes(values[first + i]);
    }
    if (!protocol::encode_batch(h, false, w, records)) return {};
  }
  protocol::fetch_response m;
  auto& t = m.responses.emplace_back();
  if (v >= 13)
    t.topic_id = orders_topic_id();
  else
    t.topic = "orders";
  auto& p = t.partitions.emplace_back();
  p.high_watermark = static_cast<std::int64_t>(values.size());
  p.records = protocol::bytes_view(records);
  protocol::writer w;
  protocol::response_header rh;
  rh.correlation_id = 7;
  rh.encode(w, protocol::response_header_version(protocol::api::fetch, v));
  m.encode(w, v);
  return w.flatten();
}

}  // namespace kgw::fuzz

#pragma once
// A Produce request built by hand for wire-level tests: one partition (0) per topic, whose records
// field is whatever bytes the test chooses (large blobs to be relayed as they arrive, or a byte
// the broker will refuse). The bytes are borrowed: keep them alive until the request is encoded.
// Threading: plain function.
#include <initializer_list>
#include <string_view>
#include <utility>

#include "protocol/produce.h"

namespace kgw::e2e {

inline protocol::produce_request opaque_produce(
    std::initializer_list<std::pair<std::string_view, protocol::bytes_view>> topics, std::int16_t acks = 1) {
  protocol::produce_request pr;
  pr.acks = acks;
  pr.timeout_ms = 5000;
  for (const auto& [name, records] : topics) {
    auto& t = pr.topic_data.emplace_back();
    t.name = name;
    t.partition_data.emplace_back().records = records;
  }
  return pr;
}

}  // namespace kgw::e2e

#include "policies/entry_errors.h"

#include <optional>
#include <string_view>

#include "protocol/errors.h"
#include "protocol/produce.h"

namespace kgw::policies {

void put_produce_errors(protocol::produce_response& resp, const std::vector<topic_error>& errors) {
  for (const auto& te : errors) {
    protocol::produce_response::topic_produce_response* t = nullptr;
    for (auto& x : resp.responses)
      if (x.name == te.name) t = &x;
    if (!t) {
      t = &resp.responses.emplace_back();
      t->name = te.name;
    }
    for (const auto& pe : te.partitions) {
      auto& p = t->partition_responses.emplace_back();
      p.index = pe.partition;
      p.error_code = pe.error;
      p.base_offset = -1;
      p.log_append_time_ms = -1;
      p.log_start_offset = -1;
      if (!pe.message.empty()) {
        // Brokers name the failing record of an INVALID_RECORD batch (KIP-467).
        if (pe.error == protocol::kafka_error::invalid_record)
          p.record_errors.push_back({0, std::string_view(pe.message), {}});
        p.error_message = std::string_view(pe.message);
      } else if (const char* m = protocol::error_message(pe.error)) {
        p.error_message = std::string_view(m);
      } else {
        p.error_message = std::nullopt;
      }
    }
  }
}

}  // namespace kgw::policies

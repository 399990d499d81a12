#include "policies/audit/audit_gate.h"

#include "policies/exchange.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "protocol/headers.h"
#include "protocol/produce.h"

namespace kgw::policies::audit {
namespace proto = kgw::protocol;

namespace {

constexpr std::string_view why = "the gateway's audit trail is unavailable; retry";

template <class Request>
std::expected<Request, std::string> decode(std::int16_t api_key, std::int16_t version, proto::bytes_view body,
                                           proto::request_header& h) {
  proto::reader r(body);
  h.decode(r, proto::request_header_version(api_key, version));
  Request m;
  if (r.ok()) m.decode(r, version);
  if (!r.ok() || r.remaining() != 0) return std::unexpected(malformed_message(api_key, version, "request", r));
  return m;
}

}  // namespace

std::expected<std::optional<std::vector<std::byte>>, std::string> unavailable_answer(std::int16_t api_key,
                                                                                    std::int16_t version,
                                                                                    proto::bytes_view body) {
  proto::request_header h;
  if (api_key == proto::api::produce) {
    auto req = decode<proto::produce_request>(api_key, version, body, h);
    if (!req) return std::unexpected(req.error());
    if (req->acks == 0) return std::optional<std::vector<std::byte>>();
    proto::produce_response resp;
    resp.throttle_time_ms = unavailable_throttle_ms;
    for (const auto& t : req->topic_data) {
      auto& rt = resp.responses.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partition_data) {
        auto& rp = rt.partition_responses.emplace_back();
        rp.index = p.index;
        rp.error_code = proto::kafka_error::kafka_storage_error;
        rp.base_offset = -1;
        rp.error_message = why;
      }
    }
    return proto::encode_response(resp, version, h.correlation_id, false).flatten();
  }
  if (api_key == proto::api::fetch) {
    auto req = decode<proto::fetch_request>(api_key, version, body, h);
    if (!req) return std::unexpected(req.error());
    proto::fetch_response resp;
    resp.throttle_time_ms = unavailable_throttle_ms;
    resp.session_id = 0;  // no fetch session: the client's next fetch is a full one
    for (const auto& t : req->topics) {
      auto& rt = resp.responses.emplace_back();
      rt.topic = t.topic;
      rt.topic_id = t.topic_id;
      for (const auto& p : t.partitions) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition_index = p.partition;
        rp.error_code = proto::kafka_error::kafka_storage_error;
        rp.high_watermark = -1;
        rp.records = proto::bytes_view{};
      }
    }
    return proto::encode_response(resp, version, h.correlation_id, false).flatten();
  }
  return std::unexpected(std::string("not a data request"));
}

}  // namespace kgw::policies::audit

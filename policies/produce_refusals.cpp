#include "policies/produce_refusals.h"

#include "protocol/errors.h"
#include "protocol/frames.h"

namespace kgw::policies {
namespace proto = kgw::protocol;

std::expected<proto::produce_request*, request_verdict> produce_message(request_exchange& ex) {
  auto decoded = ex.message<proto::produce_request>();
  if (decoded) return *decoded;
  request_verdict v;
  v.what = request_verdict::action::refuse;
  v.reason = std::move(decoded.error());
  return std::unexpected(std::move(v));
}

request_verdict refuse_partitions(
    request_exchange& ex, proto::produce_request& req,
    const std::function<std::optional<partition_error>(std::string_view, proto::produce_request::partition_produce_data&)>&
        check) {
  request_verdict v;
  auto step = std::make_shared<produce_refusals>();
  std::erase_if(req.topic_data, [&](proto::produce_request::topic_produce_data& t) {
    topic_error te;
    te.name = std::string(t.name);
    std::erase_if(t.partition_data, [&](proto::produce_request::partition_produce_data& p) {
      if (!p.records) return false;
      auto refused = check(t.name, p);
      if (!refused) return false;
      refused->partition = p.index;
      te.partitions.push_back(std::move(*refused));
      return true;
    });
    if (te.partitions.empty()) return false;
    step->topics.push_back(std::move(te));
    return t.partition_data.empty();
  });
  if (step->topics.empty()) return v;
  // Reported once: asked again after a later policy's wait, the same partitions are refused.
  if (!ex.waited)
    for (const auto& te : step->topics) ex.denied("topic", te.name, te.partitions.front().error);
  if (req.topic_data.empty()) {
    if (req.acks == 0) {
      v.what = request_verdict::action::drop;
      return v;
    }
    proto::produce_response resp;
    put_produce_errors(resp, step->topics);
    v.what = request_verdict::action::answer;
    v.response = proto::encode_response(resp, ex.version(), ex.head.correlation_id, false).flatten();
    return v;
  }
  ex.rewrote();
  if (req.acks != 0) v.step = std::move(step);
  return v;
}

std::expected<void, std::string> put_back_refusals(const response_step* step, response_exchange& ex) {
  if (!step) return {};
  const auto m = ex.message<proto::produce_response>();
  if (!m) return std::unexpected(m.error());
  put_produce_errors(**m, static_cast<const produce_refusals&>(*step).topics);
  ex.rewrote();
  return {};
}

}  // namespace kgw::policies

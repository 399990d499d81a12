#include "policies/validation/validation_policy.h"

#include <string>

#include "policies/entry_errors.h"
#include "policies/policy.h"
#include "policies/policy_set.h"
#include "policies/record_governor.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/frames.h"
#include "protocol/produce.h"

namespace kgw::policies {
namespace proto = kgw::protocol;

namespace {

// The partitions taken out of a Produce request, to put back into its response.
struct invalid_partitions : response_step {
  std::vector<topic_error> topics;
};

class validation_policy final : public policy {
 public:
  explicit validation_policy(produce_check check) : check_(std::move(check)) {
    interest_.requests.set(proto::api::produce);
  }

  const char* name() const override { return "validation"; }
  interest wants() const override { return interest_; }

  request_verdict on_request(request_exchange& ex) const override {
    if (ex.head.api_key != proto::api::produce) return {};
    request_verdict v;
    const auto decoded = ex.message<proto::produce_request>();
    if (!decoded) {
      v.what = request_verdict::action::refuse;
      v.reason = decoded.error();
      return v;
    }
    proto::produce_request* req = *decoded;
    auto step = std::make_shared<invalid_partitions>();
    std::erase_if(req->topic_data, [&](proto::produce_request::topic_produce_data& t) {
      topic_error te;
      te.name = std::string(t.name);
      std::erase_if(t.partition_data, [&](const proto::produce_request::partition_produce_data& p) {
        if (!p.records) return false;
        auto ok = check_(t.name, p.index, *p.records, ex.origin);
        if (ok) return false;
        te.partitions.push_back({p.index, proto::kafka_error::invalid_record, std::move(ok.error())});
        return true;
      });
      if (te.partitions.empty()) return false;
      step->topics.push_back(std::move(te));
      return t.partition_data.empty();
    });
    if (step->topics.empty()) return {};
    // Each topic with partitions taken out is a denied entry (with the records decision above).
    for (const auto& te : step->topics) ex.denied("topic", te.name, proto::kafka_error::invalid_record);
    if (req->topic_data.empty()) {
      if (req->acks == 0) {
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
    if (req->acks != 0) v.step = std::move(step);
    return v;
  }

  std::expected<void, std::string> on_response(const response_step* step, response_exchange& ex) const override {
    if (!step) return {};
    const auto m = ex.message<proto::produce_response>();
    if (!m) return std::unexpected(m.error());
    put_produce_errors(**m, static_cast<const invalid_partitions&>(*step).topics);
    ex.rewrote();
    return {};
  }

 private:
  produce_check check_;
  interest interest_;
};

// The snapshot's validators; a rejection is a decision (with its counts).
std::expected<void, std::string> check_with(policy_set& set, const std::string& principal, std::string_view topic,
                                            proto::bytes_view records, const decision_origin& origin) {
  const auto tp = set.for_topic(principal, topic);
  if (!tp->error.empty()) return std::unexpected(std::string("the gateway cannot apply the policy for this topic"));
  if (!tp->validator) return {};
  // Scratch buffers only, reused by every session of the worker thread.
  thread_local record_governor governor;
  tally_counts counts{};
  auto passed = governor.validate(records, *tp->validator, counts);
  if (!passed) {
    auto d = origin.event(decision_kind::records);
    d.api_key = proto::api::produce;
    d.resource_type = "topic";
    d.resource = topic;
    d.error = proto::kafka_error::invalid_record;
    d.detail = passed.error();
    d.counts = counts;
    origin.emit(d);
  }
  return passed;
}

}  // namespace

std::shared_ptr<const policy> make_validation_policy(produce_check check) {
  return std::make_shared<validation_policy>(std::move(check));
}

std::shared_ptr<const policy> compile_validation_policy(policy_set& snapshot, std::string_view principal) {
  if (snapshot.config().section<validation_section>()->empty()) return nullptr;
  return make_validation_policy(
      [&snapshot, who = std::string(principal)](std::string_view topic, std::int32_t, proto::bytes_view records,
                                                 const decision_origin& origin) {
        return check_with(snapshot, who, topic, records, origin);
      });
}

}  // namespace kgw::policies

#include "policies/validation/validation_policy.h"

#include <string>

#include "policies/produce_refusals.h"
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

class validation_policy final : public policy {
 public:
  explicit validation_policy(produce_check check) : check_(std::move(check)) {
    interest_.requests.set(proto::api::produce);
  }

  const char* name() const override { return "validation"; }
  interest wants() const override { return interest_; }

  request_verdict on_request(request_exchange& ex) const override {
    if (ex.head.api_key != proto::api::produce) return {};
    auto decoded = produce_message(ex);
    if (!decoded) return std::move(decoded.error());
    return refuse_partitions(ex, **decoded, [&](std::string_view topic, proto::produce_request::partition_produce_data& p)
                                                -> std::optional<partition_error> {
      auto ok = check_(topic, p.index, *p.records, ex.origin);
      if (ok) return std::nullopt;
      return partition_error{p.index, proto::kafka_error::invalid_record, std::move(ok.error())};
    });
  }

  std::expected<void, std::string> on_response(const response_step* step, response_exchange& ex) const override {
    return put_back_refusals(step, ex);
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

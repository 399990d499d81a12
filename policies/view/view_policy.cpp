#include "policies/view/view_policy.h"

#include <algorithm>
#include <string>

#include "policies/policy.h"
#include "policies/policy_set.h"
#include "protocol/api_keys.h"
#include "protocol/fetch.h"
#include "protocol/metadata.h"

namespace kgw::policies {
namespace proto = kgw::protocol;

namespace {

// Metadata v10+: learn the answer's topic ids.
struct learn_ids : response_step {};

class view_policy final : public policy {
 public:
  view_policy(policy_set& snapshot, std::string_view principal) : set_(snapshot), principal_(principal) {
    interest_.requests.set(proto::api::fetch);
    interest_.requests.set(proto::api::metadata);
    interest_.fetch_records = true;
  }

  const char* name() const override { return "views"; }
  interest wants() const override { return interest_; }

  request_verdict on_request(request_exchange& ex) const override {
    if (ex.head.api_key == proto::api::metadata) {
      request_verdict v;
      if (ex.version() >= 10) v.step = std::make_shared<learn_ids>();  // no ids before v10
      return v;
    }
    if (ex.head.api_key != proto::api::fetch || ex.version() < 13 || ex.ids_looked_up) return {};
    const auto decoded = ex.message<proto::fetch_request>();
    if (!decoded) return {};  // the broker answers it; its response is governed
    const proto::fetch_request* req = *decoded;
    request_verdict v;
    for (const auto& t : req->topics) {
      // A zero id names no topic: its partitions fail UNKNOWN_TOPIC_ID at response time.
      if (t.topic_id == proto::uuid{} || ex.names.name(t.topic_id)) continue;
      if (std::find(v.unknown_topic_ids.begin(), v.unknown_topic_ids.end(), t.topic_id) == v.unknown_topic_ids.end())
        v.unknown_topic_ids.push_back(t.topic_id);
    }
    if (!v.unknown_topic_ids.empty()) v.what = request_verdict::action::lookup_topic_ids;
    return v;
  }

  std::expected<void, std::string> on_response(const response_step* step, response_exchange& ex) const override {
    if (!step || ex.api_key != proto::api::metadata) return {};
    const auto m = ex.message<proto::metadata_response>();
    if (!m) return std::unexpected(m.error());
    for (const auto& t : (*m)->topics)
      if (t.name) ex.names.learn(t.topic_id, *t.name);
    return {};
  }

  void record_stages(std::string_view topic, topic_stages& out) const override {
    const auto tp = set_.for_topic(principal_, topic);
    if (!tp->error.empty()) {
      out.error = tp->error;
      return;
    }
    if (tp->view) out.fetch.push_back(tp->view);
  }

 private:
  policy_set& set_;
  std::string principal_;
  interest interest_;
};

}  // namespace

std::shared_ptr<const policy> compile_view_policy(policy_set& snapshot, std::string_view principal) {
  if (snapshot.config().section<view_section>()->empty()) return nullptr;
  return std::make_shared<view_policy>(snapshot, principal);
}

}  // namespace kgw::policies

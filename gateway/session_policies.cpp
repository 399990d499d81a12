#include "gateway/session_policies.h"

#include <spdlog/spdlog.h>

#include "gateway/response_codec.h"
#include "gateway/topic_names.h"
#include "policies/policy_set.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/fetch.h"

namespace kgw::gateway {
namespace proto = kgw::protocol;

namespace {
namespace kafka_error = proto::kafka_error;
}  // namespace

session_policies::session_policies(policies::policy_set& set, const std::string& principal, topic_names& names,
                                   policies::decision_origin origin)
    : set_(set), principal_(principal), names_(names), acl_(set.acl(principal)), origin_(origin) {
  const bool validates = !set.config().validations.empty();
  produce_check check;
  if (validates)
    check = [this](std::string_view topic, std::int32_t, proto::bytes_view records) {
      return check_produce(topic, records);
    };
  // Views need topic names: Fetch v13+ ids are looked up even with ACLs off (a client's
  // Metadata may have gone through another worker).
  const bool views = !set.config().views.empty();
  authorizer_ = std::make_unique<request_authorizer>(*acl_, names_, std::move(check), views);
  governs_fetch_ = acl_->enabled() || views;
}

session_policies::~session_policies() = default;

bool session_policies::acls_enabled() const { return acl_->enabled(); }

const policies::topic_policies& session_policies::topic(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) it = topics_.emplace(std::string(name), set_.for_topic(principal_, name)).first;
  return *it->second;
}

std::optional<std::string> session_policies::check_produce(std::string_view topic_name, proto::bytes_view records) {
  const auto& tp = topic(topic_name);
  if (!tp.error.empty()) return "the gateway cannot apply the policy for this topic";
  if (!tp.validator) return std::nullopt;
  policies::tally_counts counts{};
  auto rejected = governor_.validate(records, *tp.validator, counts);
  if (rejected) {
    auto d = origin_.event(policies::decision_kind::records);
    d.api_key = proto::api::produce;
    d.resource_type = "topic";
    d.resource = topic_name;
    d.error = kafka_error::invalid_record;
    d.detail = *rejected;
    d.counts = counts;
    origin_.emit(d);
  }
  return rejected;
}

rewrite_status session_policies::govern_fetch(const response_fixup* fixup, const response_context& ctx,
                                              proto::bytes_view body, address_rewriter& rewriter,
                                              governed_response& out, std::string& error) {
  auto malformed = [](const response_context& c, const proto::reader& r) {
    return std::string("malformed Fetch v") + std::to_string(c.api_version) + " response: " +
           (r.ok() ? "trailing bytes" : r.error().what);
  };
  return rewrite_response<proto::fetch_response>(ctx, body, out.w, error, malformed, [&](proto::fetch_response& m,
                                                                                          bool& changed) {
    // Nothing of a partition that cannot be governed is delivered; the client sees Kafka's error.
    auto fail = [&](proto::fetch_response::partition_data& p, std::int16_t error_code) {
      p.error_code = error_code;
      p.records = proto::bytes_view{};
      changed = true;
    };
    // Decisions about a topic of this response: records (one per governed partition, with what
    // the view did) or denied (the whole topic refused).
    auto report = [&](policies::decision_kind kind, std::string_view topic, std::int32_t partition,
                      const policies::tally_counts& counts, std::int16_t error_code, std::string_view why) {
      auto d = origin_.event(kind);
      d.api_key = proto::api::fetch;
      d.api_version = ctx.api_version;
      d.resource_type = "topic";
      d.resource = topic;
      d.partition = partition;
      d.counts = counts;
      d.error = error_code;
      d.detail = why;
      origin_.emit(d);
    };
    auto deny = [&](std::string_view topic, std::int16_t error_code, std::string_view why) {
      report(policies::decision_kind::denied, topic, -1, {}, error_code, why);
    };
    // Partitions of a topic the principal may not read, returned by an incremental fetch session
    // although the request did not name them, leave without records: a denial too.
    if (acl_->enabled() || fixup)
      authorizer_->complete_fetch(fixup, m, ctx.api_version, changed, [&](std::string_view topic) {
        deny(topic, kafka_error::topic_authorization_failed, "not readable (returned by the fetch session)");
      });
    for (auto& t : m.responses) {
      std::string_view name = t.topic;
      if (ctx.api_version >= 13) {
        const std::string* n = names_.name(t.topic_id);
        name = n ? std::string_view(*n) : std::string_view();
      }
      if (name.empty()) {
        // A topic the gateway cannot name cannot be governed: nothing of it is delivered.
        for (auto& p : t.partitions)
          if (p.error_code == 0 || p.records) fail(p, kafka_error::unknown_topic_id);
        deny("", kafka_error::unknown_topic_id, "a topic id the gateway cannot name");
        continue;
      }
      const auto& tp = topic(name);
      if (!tp.error.empty()) {
        for (auto& p : t.partitions) fail(p, kafka_error::topic_authorization_failed);
        deny(name, kafka_error::topic_authorization_failed, tp.error);
        continue;
      }
      if (!tp.view || tp.view->passthrough()) continue;
      for (auto& p : t.partitions) {
        if (!p.records || p.records->empty()) continue;
        auto& buf = out.buffers.emplace_back();
        if (!spare_.empty()) {
          buf = std::move(spare_.back());
          spare_.pop_back();
        }
        std::string why;
        policies::tally_counts counts{};
        const auto outcome = governor_.govern(*p.records, *tp.view, buf, why, counts, ctx.api_version >= 4);
        const bool failed = outcome == record_governor::outcome::unsupported || outcome == record_governor::outcome::corrupt;
        report(policies::decision_kind::records, name, p.partition_index, counts,
               !failed ? 0 : outcome == record_governor::outcome::corrupt ? kafka_error::corrupt_message : kafka_error::unsupported_version,
               why);
        switch (outcome) {
          case record_governor::outcome::unchanged:
            spare_.push_back(std::move(buf));
            out.buffers.pop_back();
            break;
          case record_governor::outcome::rewritten:
            p.records = proto::bytes_view(buf);
            changed = true;
            break;
          case record_governor::outcome::unsupported:
          case record_governor::outcome::corrupt:
            spdlog::warn("principal {}: {}-{}: cannot govern records: {}", principal_, name, p.partition_index, why);
            fail(p, outcome == record_governor::outcome::corrupt ? kafka_error::corrupt_message : kafka_error::unsupported_version);
            break;
        }
      }
    }
    for (auto& e : m.node_endpoints)
      if (!rewriter.map_endpoint(e.node_id, e.host, e.port, changed, error)) return false;
    return true;
  });
}

void session_policies::recycle(governed_response& g) {
  constexpr std::size_t max_spare = 8, max_kept_bytes = 8u << 20;
  for (auto& b : g.buffers)
    if (spare_.size() < max_spare && b.capacity() <= max_kept_bytes) spare_.push_back(std::move(b));
  g.buffers.clear();
}

}  // namespace kgw::gateway

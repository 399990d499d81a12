#include "policies/encryption/encryption_policy.h"

#include <algorithm>

#include "policies/encryption/encryption_config.h"
#include "policies/encryption/field_stages.h"
#include "policies/policy.h"
#include "policies/policy_set.h"
#include "policies/produce_refusals.h"
#include "policies/record_governor.h"
#include "policies/view/view_config.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"

namespace kgw::policies {
namespace proto = kgw::protocol;
using encryption::compiled_rule;
using encryption::key_manager;
using encryption::key_scope;
using encryption::record_opener;

namespace {

// Has the key manager make keys for scopes; done when it has (or could not).
class key_preparation final : public pending_work {
 public:
  key_preparation(std::shared_ptr<key_manager> keys, std::vector<key_scope> scopes)
      : keys_(std::move(keys)), scopes_(std::move(scopes)) {}
  void when_done(std::function<void()> done) override {
    keys_->prepare(std::move(scopes_), [done = std::move(done)](std::expected<void, std::string>) { done(); });
  }

 private:
  std::shared_ptr<key_manager> keys_;
  std::vector<key_scope> scopes_;
};

class encryption_policy final : public policy {
 public:
  encryption_policy(policy_set& set, std::string_view principal)
      : section_(set.config().section<encryption_section>()),
        keys_(set.services().keys),
        hash_key_(set.config().section<view_section>()->hash_key) {
    interest_.requests.set(proto::api::produce);
    interest_.fetch_records = true;
    const auto& who = set.principal(principal);
    for (const auto& r : section_->rules) {
      entry e;
      e.rule = &r;
      auto c = compiled_rule::compile(r);
      if (c) e.compiled = std::move(*c);
      else e.error = c.error();
      e.mode = record_opener::mode_for(r, who);
      entries_.push_back(std::move(e));
    }
  }

  const char* name() const override { return "encryption"; }
  interest wants() const override { return interest_; }

  request_verdict on_request(request_exchange& ex) const override {
    if (ex.head.api_key != proto::api::produce) return {};
    auto decoded = produce_message(ex);
    if (!decoded) return std::move(decoded.error());
    proto::produce_request& req = **decoded;
    if (std::none_of(req.topic_data.begin(), req.topic_data.end(),
                     [&](const proto::produce_request::topic_produce_data& t) { return entry_for(t.name); }))
      return {};
    // Scratch only (the outputs go to the exchange's buffers), reused by the worker's sessions.
    thread_local record_governor governor;
    std::vector<key_scope> missing;
    tally_counts counts{};
    auto v = refuse_partitions(ex, req, [&](std::string_view topic, proto::produce_request::partition_produce_data& p)
                                            -> std::optional<partition_error> {
      const entry* e = entry_for(topic);
      if (!e) return std::nullopt;
      if (!e->compiled || !keys_)
        return partition_error{0, proto::kafka_error::topic_authorization_failed,
                               e->compiled ? "the gateway has no key manager for encrypted topics" : e->error};
      const std::size_t missing_before = missing.size();
      encryption::record_sealer sealer(*e->compiled, topic, *keys_, missing);
      const record_stage* stage = &sealer;
      auto& buf = ex.buffer();
      const auto sealed = governor.rewrite_produce(*p.records, std::span(&stage, 1), buf, counts);
      if (!sealed) {
        if (sealed.error().error != proto::kafka_error::kafka_storage_error) return partition_error{0, sealed.error().error, sealed.error().why};
        if (!ex.waited && missing.size() > missing_before) return std::nullopt;  // the whole request waits for its keys
        const std::string why = keys_->last_error();
        return partition_error{0, proto::kafka_error::kafka_storage_error,
                               "no data key to encrypt with" + (why.empty() ? std::string() : ": " + why)};
      }
      if (*sealed == record_governor::outcome::rewritten) {
        p.records = proto::bytes_view(buf);
        ex.rewrote();
      }
      return std::nullopt;
    });
    if (!missing.empty() && !ex.waited) {
      request_verdict w;
      w.what = request_verdict::action::wait;
      w.pending = std::make_shared<key_preparation>(keys_, std::move(missing));
      return w;
    }
    if (counts[static_cast<std::size_t>(tally::fields_encrypted)] || counts[static_cast<std::size_t>(tally::produce_rejected)]) {
      auto d = ex.origin.event(decision_kind::records);
      d.api_key = proto::api::produce;
      d.api_version = ex.version();
      d.resource_type = "topic";
      d.counts = counts;
      ex.origin.emit(d);
    }
    return v;
  }

  std::expected<void, std::string> on_response(const response_step* step, response_exchange& ex) const override {
    return put_back_refusals(step, ex);
  }

  void record_stages(std::string_view topic, topic_stages& out) const override {
    const entry* e = entry_for(topic);
    if (!e) return;
    if (!e->compiled || !keys_) {
      out.error = e->compiled ? "the gateway has no key manager for encrypted topics" : e->error;
      return;
    }
    auto opener = record_opener::compile(e->compiled, std::string(topic), e->mode, hash_key_, keys_);
    if (!opener) {
      out.error = opener.error();
      return;
    }
    out.fetch.insert(out.fetch.begin(), std::move(*opener));  // decrypt before the views
  }

 private:
  struct entry {
    const encryption_rule* rule = nullptr;
    std::shared_ptr<const compiled_rule> compiled;
    std::string error;
    record_opener::mode mode = record_opener::mode::token;
  };
  // The rule for a topic: the first that matches.
  const entry* entry_for(std::string_view topic) const {
    for (const auto& e : entries_)
      for (const auto& t : e.rule->topics)
        if (t.matches(topic)) return &e;
    return nullptr;
  }

  std::shared_ptr<const encryption_section> section_;
  std::shared_ptr<key_manager> keys_;
  std::string hash_key_;
  std::vector<entry> entries_;
  interest interest_;
};

}  // namespace

std::shared_ptr<const policy> compile_encryption_policy(policy_set& snapshot, std::string_view principal) {
  if (snapshot.config().section<encryption_section>()->empty()) return nullptr;
  return std::make_shared<encryption_policy>(snapshot, principal);
}

}  // namespace kgw::policies

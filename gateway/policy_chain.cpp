#include "gateway/policy_chain.h"

#include "gateway/buffer_spares.h"
#include "gateway/live_config.h"
#include "gateway/logging.h"
#include "gateway/request_inspector.h"
#include "policies/policy_set.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/fetch.h"
#include "protocol/produce.h"
#include "protocol/record_batch.h"

namespace kgw::gateway {
namespace proto = kgw::protocol;
using policies::has;

namespace {
namespace kafka_error = proto::kafka_error;

// The record buffers of governed Fetch responses, per worker thread, shared by its sessions: a
// rewritten partition (up to ~1 MiB) reuses memory already faulted in rather than fresh pages
// (page faults and zeroing were ~9% of a decrypting gateway's CPU with a per-session spare list
// of 8, fewer than the partitions in one response), and an idle session holds none. At most 64
// buffers, 8 MiB each, 64 MiB in all.
// Threading: thread_local; a session takes and gives back on its worker's thread only.
buffer_spares<std::vector<std::byte>>& buffer_pool() {
  thread_local buffer_spares<std::vector<std::byte>> pool(64, 8u << 20, 64u << 20);
  return pool;
}

// Bytes and records of the records fields of a decoded message's partitions (traffic decisions).
template <class Partitions>
std::pair<std::uint64_t, std::uint64_t> records_in(const Partitions& partitions) {
  std::uint64_t bytes = 0, records = 0;
  for (const auto& p : partitions)
    if (p.records) {
      bytes += p.records->size();
      records += proto::count_records(*p.records);
    }
  return {bytes, records};
}

}  // namespace

policy_chain::policy_chain(std::shared_ptr<const live_config> gen, const std::string& principal, topic_names& names,
                           policies::decision_origin origin)
    : policy_chain(gen->policies->chain(principal), principal, names, origin, gen->policies->services().transforms) {
  gen_ = std::move(gen);
}

policy_chain::policy_chain(std::shared_ptr<const policies::principal_policies> chain, const std::string& principal,
                           topic_names& names, policies::decision_origin origin,
                           std::shared_ptr<policies::transform_cache> transforms)
    : principal_(principal), names_(names), origin_(origin), policies_(std::move(chain)),
      transforms_(std::move(transforms)) {
  for (const auto& p : policies_->chain) wants_.push_back(p->wants());
}

policy_chain::~policy_chain() = default;

bool policy_chain::empty() const { return policies_->chain.empty(); }

bool policy_chain::reads_requests(std::int16_t api_key) const { return wants_request(policies_->wants, api_key); }

bool policy_chain::governs_responses(std::int16_t api_key) const {
  return has(policies_->wants.responses, api_key) ||
         (api_key == proto::api::fetch && policies_->wants.fetch_records);
}

chain_request policy_chain::on_request(const request_info& info, proto::bytes_view body, bool ids_looked_up,
                                       bool waited) {
  chain_request out;
  if (!wants_request(policies_->wants, info.api_key)) return out;
  const policies::request_head head{info.api_key, info.api_version, info.correlation_id, info.expects_response};
  policies::request_exchange ex(head, body, names_, origin_, ids_looked_up, waited);
  response_steps steps;
  const auto& chain = policies_->chain;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    if (!wants_request(wants_[i], info.api_key)) continue;
    policies::request_verdict v = chain[i]->on_request(ex);
    switch (v.what) {
      case chain_request::action::forward:
        if (v.step) steps.emplace_back(i, std::move(v.step));
        continue;
      case chain_request::action::answer: {
        // The policies before this one see the answer as if a broker had sent it (the entries
        // they took out go back in).
        out.what = v.what;
        out.response = std::move(v.response);
        policies::response_exchange rx(info.api_key, info.api_version, out.response, names_, origin_);
        if (auto done = run_responses(&steps, rx, i); !done) {
          out.what = chain_request::action::refuse;
          out.reason = "cannot complete the gateway's own answer: " + done.error();
          return out;
        }
        if (rx.rewritten()) {
          proto::writer w;
          rx.encode(w);
          out.response = w.flatten();
        }
        return out;
      }
      case chain_request::action::drop:
      case chain_request::action::refuse:
      case chain_request::action::lookup_topic_ids:
      case chain_request::action::wait:
        out.what = v.what;
        out.reason = std::move(v.reason);
        out.unknown_topic_ids = std::move(v.unknown_topic_ids);
        out.pending = std::move(v.pending);
        return out;
    }
  }
  if (info.api_key == proto::api::produce && ex.decoded() && origin_.stream && origin_.stream->wants_traffic()) {
    // What goes upstream, as the policies left it (denied partitions out, fields sealed).
    if (auto m = ex.message<proto::produce_request>()) {
      for (const auto& t : (*m)->topic_data) {
        const auto [bytes, records] = records_in(t.partition_data);
        if (bytes > 0) origin_.traffic(info.api_key, info.api_version, t.name, bytes, records);
      }
      out.traffic_reported = true;
    }
  }
  if (ex.rewritten()) {
    out.rewritten = true;
    ex.encode(out.request);
  }
  if (!steps.empty()) out.steps = std::make_shared<const response_steps>(std::move(steps));
  return out;
}

std::expected<void, std::string> policy_chain::run_responses(const response_steps* steps,
                                                             policies::response_exchange& ex,
                                                             std::size_t before) const {
  const auto& chain = policies_->chain;
  for (std::size_t i = 0; i < std::min(before, chain.size()); ++i) {
    const policies::response_step* step = nullptr;
    if (steps)
      for (const auto& [at, s] : *steps)
        if (at == i) step = s.get();
    if (!step && !has(wants_[i].responses, ex.api_key)) continue;
    if (auto r = chain[i]->on_response(step, ex); !r) return r;
  }
  return {};
}

rewrite_result policy_chain::on_response(const response_steps* steps, const response_context& ctx,
                                         proto::bytes_view body, address_rewriter& rewriter, governed_response& out) {
  policies::response_exchange ex(ctx.api_key, ctx.api_version, body, names_, origin_);
  if (auto r = run_responses(steps, ex, policies_->chain.size()); !r) return std::unexpected(std::move(r.error()));
  if (ctx.api_key == proto::api::fetch && governs_responses(proto::api::fetch))
    if (auto r = govern_fetch_records(ex, out); !r) return std::unexpected(std::move(r.error()));
  // Addresses on the same decode (one decode, one encode per governed message).
  if (ex.decoded() && proto::carries_addresses(ctx.api_key, ctx.api_version)) {
    if (auto r = rewriter.rewrite_decoded(ex); !r) return std::unexpected(std::move(r.error()));
    out.addresses_done = true;
  }
  if (ctx.api_key == proto::api::fetch && ex.decoded() && origin_.stream && origin_.stream->wants_traffic()) {
    // What the client receives, after its policies.
    if (auto m = ex.message<proto::fetch_response>()) {
      for (const auto& t : (*m)->responses) {
        const auto [bytes, records] = records_in(t.partitions);
        if (bytes == 0) continue;
        const std::string* name = ctx.api_version >= 13 ? names_.name(t.topic_id) : nullptr;
        const std::string_view topic = ctx.api_version >= 13 ? (name ? std::string_view(*name) : "(unknown topic id)")
                                                             : std::string_view(t.topic);
        origin_.traffic(ctx.api_key, ctx.api_version, topic, bytes, records);
      }
      out.traffic_reported = true;
    }
  }
  if (!ex.rewritten()) return rewrite_status::unchanged;
  ex.encode(out.w);
  return rewrite_status::rewritten;
}

const policies::topic_stages& policy_chain::stages(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it != topics_.end()) return it->second;
  policies::topic_stages s;
  const auto& chain = policies_->chain;
  for (std::size_t i = 0; i < chain.size(); ++i)
    if (wants_[i].fetch_records) chain[i]->record_stages(topic, s);
  // Stages with nothing to do leave batches untouched.
  std::erase_if(s.fetch, [](const auto& st) { return st->passthrough(); });
  return topics_.emplace(std::string(topic), std::move(s)).first->second;
}

std::expected<void, std::string> policy_chain::govern_fetch_records(policies::response_exchange& ex,
                                                                    governed_response& out) {
  const auto decoded = ex.message<proto::fetch_response>();
  if (!decoded) return std::unexpected(decoded.error());
  proto::fetch_response* m = *decoded;
  const std::int16_t version = ex.api_version;
  bool changed = false;
  // Nothing of a partition that cannot be governed is delivered; the client sees Kafka's error.
  auto fail = [&](proto::fetch_response::partition_data& p, std::int16_t error_code) {
    p.error_code = error_code;
    p.records = proto::bytes_view{};
    changed = true;
  };
  // One decision per governed partition, with what the stages did.
  auto report = [&](std::string_view topic, std::int32_t partition, const policies::tally_counts& counts,
                    std::int16_t error_code, std::string_view why) {
    auto d = origin_.event(policies::decision_kind::records);
    d.api_key = proto::api::fetch;
    d.api_version = version;
    d.resource_type = "topic";
    d.resource = topic;
    d.partition = partition;
    d.counts = counts;
    d.error = error_code;
    d.detail = why;
    origin_.emit(d);
  };
  // The whole topic refused.
  auto deny = [&](std::string_view topic, std::int16_t error_code, std::string_view why) {
    ex.denied("topic", topic, error_code, why);
  };
  std::vector<const policies::record_stage*> run;
  for (auto& t : m->responses) {
    std::string_view name = t.topic;
    if (version >= 13) {
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
    const auto& ts = stages(name);
    if (!ts.error.empty()) {
      for (auto& p : t.partitions) fail(p, kafka_error::topic_authorization_failed);
      deny(name, kafka_error::topic_authorization_failed, ts.error);
      continue;
    }
    if (ts.fetch.empty()) continue;
    run.clear();
    for (const auto& s : ts.fetch) run.push_back(s.get());
    for (auto& p : t.partitions) {
      if (!p.records || p.records->empty()) continue;
      auto& buf = out.buffers.emplace_back(buffer_pool().take(p.records->size()));
      policies::tally_counts counts{};
      using outcome = policies::record_governor::outcome;
      const policies::record_governor::sharing share{transforms_.get(), p.partition_index};
      const auto result = governor_.govern(*p.records, run, buf, counts, version >= 4, &share);
      report(name, p.partition_index, counts, result ? 0 : result.error().error,
             result ? std::string_view() : std::string_view(result.error().why));
      if (!result) {
        log::relay().warn("principal {}: {}-{}: cannot govern records: {}", principal_, name, p.partition_index,
                     result.error().why);
        fail(p, result.error().error);
      } else if (*result == outcome::unchanged) {
        buffer_pool().give(std::move(buf));
        out.buffers.pop_back();
      } else {
        p.records = proto::bytes_view(buf);
        changed = true;
      }
    }
  }
  if (changed) ex.rewrote();
  return {};
}

void policy_chain::recycle(governed_response& g) {
  for (auto& b : g.buffers) buffer_pool().give(std::move(b));
  g.buffers.clear();
}

}  // namespace kgw::gateway

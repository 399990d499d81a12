#pragma once
// Internal to the ACL policy (acl_policy.cpp and the per-family *_rules.cpp files): the response
// fixup, the state one request shares with its API's rule, Kafka's error codes and texts, and the
// decode / rewrite / answer helpers over the exchange's one decode.
// Threading: per message, on its session's worker thread.
#include <algorithm>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/policy_config.h"
#include "policies/acl/acl_policy.h"
#include "policies/acl/principal_acl.h"
#include "policies/entry_errors.h"
#include "policies/topic_names.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/frames.h"
#include "protocol/headers.h"
#include "protocol/wire.h"

namespace kgw::policies {

namespace kafka_error = protocol::kafka_error;

// Kafka's name of the one cluster resource.
inline constexpr std::string_view cluster_resource_name = "kafka-cluster";

// What the response to a rewritten request needs. Everything is owned (std::string): the request
// frame it came from is gone when the response arrives.
struct response_fixup : response_step {
  std::int16_t api_key = -1;

  using partition_error = policies::partition_error;
  using topic_error = policies::topic_error;
  std::vector<topic_error> topics;

  // A group, coordinator key, transactional id or config resource taken out of the request.
  struct entry_error {
    std::string name;
    std::int16_t error = 0;
    std::int8_t resource_type = 0;  // config APIs
  };
  std::vector<entry_error> entries;

  // OffsetFetch: per group (v0-7: one entry for the request's group).
  struct group_fixup {
    std::string group;
    bool removed = false;        // the whole group left the request (all its topics denied)
    bool filter_topics = false;  // all-topics request: keep topics the principal may Describe
    std::vector<topic_error> topics;
  };
  std::vector<group_fixup> groups;

  bool learn_ids = false;              // Metadata v10+: record topic id -> name
  bool filter_topics = false;          // Metadata: keep topics the principal may Describe
  bool drop_forwarded_topics = false;  // Metadata v0 whose named topics were all denied
  bool topic_operations = false;       // Metadata: fill topic_authorized_operations
  bool cluster_operations = false;     // Metadata v8-10, DescribeCluster
  bool group_operations = false;       // DescribeGroups: fill authorized_operations
  bool filter_entries = false;         // ListGroups / ListTransactions: keep what may be described
  bool topic_config_access = false;    // CreateTopics v5+: configs need DescribeConfigs
  bool filter_transaction_topics = false;  // DescribeTransactions: topics need Describe
};

// One request before its API's rule: the exchange (one decode) and the principal's ACL.
struct authz_request {
  request_exchange& ex;
  const principal_acl& acl;
  const request_head& info;
  topic_names& names;
  bool ids_looked_up = false;

  authz_request(request_exchange& e, const principal_acl& a)
      : ex(e), acl(a), info(e.head), names(e.names), ids_looked_up(e.ids_looked_up) {}
  std::int16_t version() const { return info.api_version; }
  const char* api_name() const;
  bool allowed(acl_operation op, resource_type type, std::string_view name) const {
    return acl.allowed(op, type, name);
  }
  bool cluster_allowed(acl_operation op) const {
    return allowed(op, resource_type::cluster, cluster_resource_name);
  }
};

request_verdict refuse(std::string reason);

inline std::shared_ptr<response_fixup> new_fixup(const authz_request& rq) {
  auto fx = std::make_shared<response_fixup>();
  fx->api_key = rq.info.api_key;
  return fx;
}

// The error's message as an error_message field value (null for codes without a text).
inline std::optional<std::string_view> message_of(std::int16_t error) {
  const char* m = protocol::error_message(error);
  return m ? std::optional<std::string_view>(m) : std::nullopt;
}

// error_for(topic name) for take_topics: `op` on the topic, else TOPIC_AUTHORIZATION_FAILED.
inline auto topic_check(const authz_request& rq, acl_operation op) {
  return [&rq, op](std::string_view name) {
    return rq.allowed(op, resource_type::topic, name) ? kafka_error::none
                                                              : kafka_error::topic_authorization_failed;
  };
}

// The request message, decoded once for every policy; nullptr: `out` is a refusal (malformed).
template <class M>
M* decode_request(authz_request& rq, request_verdict& out) {
  const auto m = rq.ex.message<M>();
  if (!m) {
    out = refuse(m.error());
    return nullptr;
  }
  return *m;
}

// Forward the decoded message as the rule changed it (entries removed; records stay borrowed).
inline request_verdict forward_rewritten(const authz_request& rq, std::shared_ptr<const response_fixup> fixup) {
  rq.ex.rewrote();
  request_verdict a;
  a.step = std::move(fixup);
  return a;
}

// answer: a response of the request's version, built here. denied: the entries it denies (not
// used for the response: they are reported as decisions).
template <class M>
request_verdict answer(const authz_request& rq, const M& msg, std::shared_ptr<const response_fixup> denied = nullptr) {
  request_verdict a;
  a.what = request_verdict::action::answer;
  a.response = protocol::encode_response(msg, rq.version(), rq.info.correlation_id, false).flatten();
  a.step = std::move(denied);
  return a;
}

// One denied entry, for answers built directly: reported as a decision.
inline std::shared_ptr<response_fixup> denial(const authz_request& rq, std::string_view name, std::int16_t error) {
  auto fx = new_fixup(rq);
  fx->entries.push_back({std::string(name), error, 0});
  return fx;
}

inline request_verdict forward_with(std::shared_ptr<const response_fixup> fixup) {
  request_verdict a;
  a.step = std::move(fixup);
  return a;
}

// Ids of topics named by id that topic_names does not know, each once.
void add_unknown_id(std::vector<protocol::uuid>& unknown, const topic_names& names, const protocol::uuid& id);
request_verdict lookup_ids(std::vector<protocol::uuid> ids);

// The response half's view of one response: the fixup its request left (an empty one when the
// ACL wants every response of the API), the ACL, and the exchange (one decode for all policies).
struct authz_response {
  const response_fixup& fixup;
  const principal_acl& acl;
  topic_names& names;
  response_exchange& ex;
  std::int16_t version() const { return ex.api_version; }
  bool allowed(acl_operation op, resource_type type, std::string_view name) const {
    return acl.allowed(op, type, name);
  }
};

// What a response half did: nothing to report, or why the response cannot be completed (it does
// not decode); the chain then fails the response closed.
using completion = std::expected<void, std::string>;

// The response's message (decoded once), passed to fn(msg, changed); a change is recorded on
// the exchange, which re-encodes it once.
template <class M, class Fn>
completion with_response(const authz_response& rs, Fn&& fn) {
  const auto m = rs.ex.message<M>();
  if (!m) return std::unexpected(m.error());
  bool changed = false;
  fn(**m, changed);
  if (changed) rs.ex.rewrote();
  return {};
}

// name_of and partitions_of for take_topics, for the many requests whose topics have a `name`
// and `partitions` with a `partition_index` (ListOffsets, DeleteRecords, OffsetCommit, ...), or
// a list of `partition_indexes` (OffsetFetch, DescribeProducers).
inline constexpr auto topic_name_of = [](const auto& t) { return t.name; };
inline constexpr auto each_partition_index = [](const auto& t, auto fn) {
  for (const auto& p : t.partitions) fn(p.partition_index);
};
inline constexpr auto each_listed_partition = [](const auto& t, auto fn) {
  for (auto p : t.partition_indexes) fn(p);
};

// with_response for a response whose only fixup is put(msg): the topics or entries taken out of
// the request go back in as errors. `any`: there are some, so the response is re-encoded.
template <class M, class Put>
completion put_back_errors(const authz_response& rs, bool any, Put put) {
  return with_response<M>(rs, [&](M& m, bool& changed) {
    put(m);
    changed = any;
  });
}

// Takes out of `topics` every topic for which error_for(name) is not 0, recording each of its
// partitions with that error in `out`. name_of(topic) -> string_view; partitions_of(topic, fn)
// calls fn(partition index) for each partition.
template <class Topic, class NameOf, class PartitionsOf, class ErrorFor>
void take_topics(std::vector<Topic>& topics, std::vector<response_fixup::topic_error>& out, NameOf name_of,
                 PartitionsOf partitions_of, ErrorFor error_for) {
  std::erase_if(topics, [&](const Topic& t) {
    const std::string_view name = name_of(t);
    const std::int16_t error = error_for(name);
    if (error == kafka_error::none) return false;
    response_fixup::topic_error te;
    te.name = std::string(name);
    partitions_of(t, [&](std::int32_t p) { te.partitions.push_back({p, error, {}}); });
    out.push_back(std::move(te));
    return true;
  });
}

// name_ref and parts_ref for put_topics, for the many responses whose topics have a `name` and
// `partitions`.
inline constexpr auto topic_name_ref = [](auto& t) -> std::string_view& { return t.name; };
inline constexpr auto topic_partitions_ref = [](auto& t) -> auto& { return t.partitions; };

// Puts removed topics back into a response's topic list: into the entry of the same name if the
// response has one, else a new entry. name_ref(topic) -> string_view&; parts_ref(topic) -> the
// partition vector; make(partition_error) -> a response partition.
template <class Topic, class NameRef, class PartsRef, class Make>
void put_topics(std::vector<Topic>& topics, const std::vector<response_fixup::topic_error>& errors, NameRef name_ref,
                PartsRef parts_ref, Make make) {
  for (const auto& te : errors) {
    Topic* t = nullptr;
    for (auto& x : topics)
      if (name_ref(x) == te.name) t = &x;
    if (!t) {
      t = &topics.emplace_back();
      name_ref(*t) = te.name;
    }
    for (const auto& pe : te.partitions) parts_ref(*t).push_back(make(pe));
  }
}

// put_topics for the common response shape: topics with a `name` and `partitions`, a partition
// with a `partition_index` and an `error_code`. fill(partition, pe) sets whatever else the API
// wants in an error partition (offsets of -1, an error message); the rest keep their defaults.
inline constexpr auto no_more_fields = [](auto&, const response_fixup::partition_error&) {};
template <class Topic, class Fill = decltype(no_more_fields)>
void put_partition_errors(std::vector<Topic>& topics, const std::vector<response_fixup::topic_error>& errors,
                          Fill fill = no_more_fields) {
  using partition = typename decltype(Topic::partitions)::value_type;
  put_topics(topics, errors, topic_name_ref, topic_partitions_ref, [&](const response_fixup::partition_error& pe) {
    partition p;
    p.partition_index = pe.partition;
    p.error_code = pe.error;
    fill(p, pe);
    return p;
  });
}

// Rules per API: a request half and a response half, joined in acl_policy.cpp's table.
using request_rule = request_verdict (*)(authz_request&);
using response_rule = completion (*)(const authz_response&);

// Topic APIs (topic_rules.cpp).
request_verdict authorize_produce(authz_request& rq);
completion complete_produce(const authz_response& rs);
request_verdict authorize_fetch(authz_request& rq);
completion complete_fetch(const authz_response& rs);  // also without a fixup: incremental sessions
request_verdict authorize_list_offsets(authz_request& rq);
completion complete_list_offsets(const authz_response& rs);
request_verdict authorize_offset_for_leader_epoch(authz_request& rq);
completion complete_offset_for_leader_epoch(const authz_response& rs);
request_verdict authorize_metadata(authz_request& rq);
completion complete_metadata(const authz_response& rs);
request_verdict authorize_create_topics(authz_request& rq);
completion complete_create_topics(const authz_response& rs);
request_verdict authorize_delete_topics(authz_request& rq);
completion complete_delete_topics(const authz_response& rs);
request_verdict authorize_delete_records(authz_request& rq);
completion complete_delete_records(const authz_response& rs);
request_verdict authorize_create_partitions(authz_request& rq);
completion complete_create_partitions(const authz_response& rs);
request_verdict authorize_describe_producers(authz_request& rq);
completion complete_describe_producers(const authz_response& rs);

// Group APIs (group_rules.cpp).
request_verdict authorize_offset_commit(authz_request& rq);
completion complete_offset_commit(const authz_response& rs);
request_verdict authorize_offset_fetch(authz_request& rq);
completion complete_offset_fetch(const authz_response& rs);
request_verdict authorize_offset_delete(authz_request& rq);
completion complete_offset_delete(const authz_response& rs);
request_verdict authorize_find_coordinator(authz_request& rq);
completion complete_find_coordinator(const authz_response& rs);
request_verdict authorize_group_member(authz_request& rq);  // JoinGroup, Heartbeat, LeaveGroup, SyncGroup
request_verdict authorize_describe_groups(authz_request& rq);
completion complete_describe_groups(const authz_response& rs);
request_verdict authorize_list_groups(authz_request& rq);
completion complete_list_groups(const authz_response& rs);
request_verdict authorize_delete_groups(authz_request& rq);
completion complete_delete_groups(const authz_response& rs);
request_verdict authorize_consumer_group_heartbeat(authz_request& rq);

// Transactions, configs, cluster (admin_rules.cpp).
request_verdict authorize_configs(authz_request& rq);  // DescribeConfigs, AlterConfigs, IncrementalAlterConfigs
completion complete_describe_configs(const authz_response& rs);
completion complete_alter_configs(const authz_response& rs);
completion complete_incremental_alter_configs(const authz_response& rs);
request_verdict authorize_init_producer_id(authz_request& rq);
request_verdict authorize_add_partitions_to_txn(authz_request& rq);
request_verdict authorize_add_offsets_to_txn(authz_request& rq);
request_verdict authorize_end_txn(authz_request& rq);
request_verdict authorize_txn_offset_commit(authz_request& rq);
completion complete_txn_offset_commit(const authz_response& rs);
request_verdict authorize_describe_transactions(authz_request& rq);
completion complete_describe_transactions(const authz_response& rs);
request_verdict authorize_list_transactions(authz_request& rq);
completion complete_list_transactions(const authz_response& rs);
request_verdict authorize_describe_cluster(authz_request& rq);
completion complete_describe_cluster(const authz_response& rs);

}  // namespace kgw::policies

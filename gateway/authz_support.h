#pragma once
// Internal to the request authorizer (request_authorizer.cpp and the per-family authz_*.cpp
// files): the response fixup, the state one authorize() call shares with the per-API handlers,
// Kafka's error codes and texts, and the decode / re-encode / answer helpers.
// Threading: as request_authorizer (one session's worker thread).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/policy_config.h"
#include "gateway/request_authorizer.h"
#include "gateway/response_codec.h"
#include "gateway/topic_names.h"
#include "policies/acl/principal_acl.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/frames.h"
#include "protocol/headers.h"
#include "protocol/wire.h"

namespace kgw::gateway {

namespace kafka_error = protocol::kafka_error;

// Kafka's name of the one cluster resource.
inline constexpr std::string_view cluster_resource_name = "kafka-cluster";

// What the response to a rewritten request needs. Everything is owned (std::string): the request
// frame it came from is gone when the response arrives.
struct response_fixup {
  std::int16_t api_key = -1;

  struct partition_error {
    std::int32_t partition = 0;
    std::int16_t error = 0;
    std::string message;  // Produce INVALID_RECORD: the validation message
  };
  // A topic (or some of its partitions) taken out of the request.
  struct topic_error {
    std::string name;
    bool name_null = false;  // requested by id (Metadata v12+, DeleteTopics v6): name stays null
    protocol::uuid id{};
    std::int16_t error = 0;  // topic-level error (Metadata, CreateTopics, DeleteTopics, ...)
    std::vector<partition_error> partitions;
  };
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

// One authorize() call: the decoded header, the reader positioned after it, and the ACL.
struct authz_request {
  const request_info& info;
  protocol::bytes_view body;
  const policies::principal_acl& acl;
  topic_names& names;
  const produce_check& check;
  bool ids_looked_up = false;
  protocol::request_header header;
  std::int16_t header_version = 1;
  protocol::reader r;

  std::int16_t version() const { return info.api_version; }
  const char* api_name() const;
  bool allowed(config::acl_operation op, config::resource_type type, std::string_view name) const {
    return !acl.enabled() || acl.allowed(op, type, name);
  }
  bool cluster_allowed(config::acl_operation op) const {
    return allowed(op, config::resource_type::cluster, cluster_resource_name);
  }
};

authorization refuse(std::string reason);

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
inline auto topic_check(const authz_request& rq, config::acl_operation op) {
  return [&rq, op](std::string_view name) {
    return rq.allowed(op, config::resource_type::topic, name) ? kafka_error::none
                                                              : kafka_error::topic_authorization_failed;
  };
}

// "malformed Metadata v12 request: <why>" (kind "request" or "response"); r stopped where
// decoding did (r.ok(): the message decoded and bytes are left over).
inline std::string malformed_message(const char* api_name, std::int16_t version, const char* kind,
                                     const protocol::reader& r) {
  return std::string("malformed ") + api_name + " v" + std::to_string(version) + " " + kind + ": " +
         (r.ok() ? "trailing bytes" : r.error().what);
}

// Decodes the request message after the header; false: `out` is a refusal (malformed).
template <class M>
bool decode_request(authz_request& rq, M& msg, authorization& out) {
  msg.decode(rq.r, rq.version());
  if (!rq.r.ok() || rq.r.remaining() != 0) {
    out = refuse(malformed_message(rq.api_name(), rq.version(), "request", rq.r));
    return false;
  }
  return true;
}

// forward_rewritten: the header as received plus `msg` re-encoded (records are borrowed).
template <class M>
authorization forward_rewritten(const authz_request& rq, const M& msg, std::shared_ptr<const response_fixup> fixup) {
  authorization a;
  a.what = authorization::action::forward_rewritten;
  rq.header.encode(a.request, rq.header_version);
  msg.encode(a.request, rq.version());
  a.fixup = std::move(fixup);
  return a;
}

// answer: a response of the request's version, built here. denied: the entries it denies (not
// used for the response: the session reports them as decisions).
template <class M>
authorization answer(const authz_request& rq, const M& msg, std::shared_ptr<const response_fixup> denied = nullptr) {
  authorization a;
  a.what = authorization::action::answer;
  a.response = protocol::encode_response(msg, rq.version(), rq.info.correlation_id, false).flatten();
  a.fixup = std::move(denied);
  return a;
}

// One denied entry, for answers built directly: the session reports it as a decision.
inline std::shared_ptr<response_fixup> denial(const authz_request& rq, std::string_view name, std::int16_t error) {
  auto fx = new_fixup(rq);
  fx->entries.push_back({std::string(name), error, 0});
  return fx;
}

inline authorization forward_with(std::shared_ptr<const response_fixup> fixup) {
  authorization a;
  a.fixup = std::move(fixup);
  return a;
}

// Ids of topics named by id that topic_names does not know, each once.
void add_unknown_id(std::vector<protocol::uuid>& unknown, const topic_names& names, const protocol::uuid& id);
authorization lookup_ids(std::vector<protocol::uuid> ids);

// Decodes a response (header + message), applies fn(msg, changed) -> bool, re-encodes into out
// when changed: see gateway/response_codec.h.
template <class M, class Fn>
rewrite_status with_response(const response_context& ctx, protocol::bytes_view body, protocol::writer& out,
                             std::string& error, Fn&& fn) {
  auto malformed = [](const response_context& c, const protocol::reader& r) {
    const protocol::api_info* api = protocol::find_api(c.api_key);
    return malformed_message(api ? api->name : "?", c.api_version, "response", r);
  };
  return rewrite_response<M>(ctx, body, out, error, malformed, std::forward<Fn>(fn));
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
rewrite_status put_back_errors(const response_context& ctx, protocol::bytes_view body, protocol::writer& out,
                               std::string& error, bool any, Put put) {
  return with_response<M>(ctx, body, out, error, [&](M& m, bool& changed) {
    put(m);
    changed = any;
    return true;
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

// The response fixup's view of the ACL, for complete().
struct authz_response {
  const response_fixup& fixup;
  const policies::principal_acl& acl;
  topic_names& names;
  bool allowed(config::acl_operation op, config::resource_type type, std::string_view name) const {
    return !acl.enabled() || acl.allowed(op, type, name);
  }
};

// Per-family handlers (authz_topics.cpp, authz_groups.cpp, authz_admin.cpp).
authorization authorize_produce(authz_request& rq);
authorization authorize_fetch(authz_request& rq);
// Fetch v13+ with ACLs off but views on: only asks for the lookup of topic ids not learnt yet.
authorization lookup_fetch_topic_ids(authz_request& rq);
authorization authorize_list_offsets(authz_request& rq);
authorization authorize_offset_for_leader_epoch(authz_request& rq);
authorization authorize_metadata(authz_request& rq);
authorization authorize_create_topics(authz_request& rq);
authorization authorize_delete_topics(authz_request& rq);
authorization authorize_delete_records(authz_request& rq);
authorization authorize_create_partitions(authz_request& rq);
authorization authorize_describe_producers(authz_request& rq);

authorization authorize_offset_commit(authz_request& rq);
authorization authorize_offset_fetch(authz_request& rq);
authorization authorize_offset_delete(authz_request& rq);
authorization authorize_find_coordinator(authz_request& rq);
authorization authorize_group_member(authz_request& rq);  // JoinGroup, Heartbeat, LeaveGroup, SyncGroup
authorization authorize_describe_groups(authz_request& rq);
authorization authorize_list_groups(authz_request& rq);
authorization authorize_delete_groups(authz_request& rq);
authorization authorize_consumer_group_heartbeat(authz_request& rq);

authorization authorize_configs(authz_request& rq);  // DescribeConfigs, AlterConfigs, IncrementalAlterConfigs
authorization authorize_init_producer_id(authz_request& rq);
authorization authorize_add_partitions_to_txn(authz_request& rq);
authorization authorize_add_offsets_to_txn(authz_request& rq);
authorization authorize_end_txn(authz_request& rq);
authorization authorize_txn_offset_commit(authz_request& rq);
authorization authorize_describe_transactions(authz_request& rq);
authorization authorize_list_transactions(authz_request& rq);
authorization authorize_describe_cluster(authz_request& rq);

// Fetch responses: see request_authorizer::complete_fetch.
void complete_fetch_response(const response_fixup* fixup, const policies::principal_acl& acl, topic_names& names,
                             protocol::fetch_response& response, std::int16_t version, bool& changed,
                             const std::function<void(std::string_view topic)>& refused);

rewrite_status complete_topics_family(const authz_response& rs, const response_context& ctx, protocol::bytes_view body,
                                      protocol::writer& out, std::string& error);
rewrite_status complete_groups_family(const authz_response& rs, const response_context& ctx, protocol::bytes_view body,
                                      protocol::writer& out, std::string& error);
rewrite_status complete_admin_family(const authz_response& rs, const response_context& ctx, protocol::bytes_view body,
                                     protocol::writer& out, std::string& error);

}  // namespace kgw::gateway

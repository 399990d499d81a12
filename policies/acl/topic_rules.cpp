// Topic APIs: Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, Metadata, CreateTopics,
// DeleteTopics, DeleteRecords, CreatePartitions, DescribeProducers (see acl_policy.h).
#include <algorithm>

#include "policies/acl/acl_rules.h"
#include "protocol/create_partitions.h"
#include "protocol/create_topics.h"
#include "protocol/delete_records.h"
#include "protocol/delete_topics.h"
#include "protocol/describe_producers.h"
#include "protocol/fetch.h"
#include "protocol/list_offsets.h"
#include "protocol/metadata.h"
#include "protocol/offset_for_leader_epoch.h"
#include "protocol/produce.h"

namespace kgw::policies {
namespace proto = kgw::protocol;

// --- Produce ---------------------------------------------------------------------------------

request_verdict authorize_produce(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::produce_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  // Kafka: a transactional Produce needs Write on the transactional id, else every partition
  // fails with TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
  const bool txn_denied =
      req.transactional_id && !rq.allowed(acl_operation::write, resource_type::transactional_id, *req.transactional_id);
  std::erase_if(req.topic_data, [&](proto::produce_request::topic_produce_data& t) {
    const std::int16_t error = txn_denied ? kafka_error::transactional_id_authorization_failed
                               : rq.allowed(acl_operation::write, resource_type::topic, t.name)
                                   ? kafka_error::none
                                   : kafka_error::topic_authorization_failed;
    response_fixup::topic_error te;
    te.name = std::string(t.name);
    if (error != kafka_error::none) {
      for (const auto& p : t.partition_data) te.partitions.push_back({p.index, error, {}});
    }
    if (!te.partitions.empty()) fx->topics.push_back(std::move(te));
    return error != kafka_error::none || t.partition_data.empty();
  });
  if (fx->topics.empty()) return {};
  if (req.topic_data.empty()) {
    if (req.acks == 0) {
      request_verdict a;
      a.what = request_verdict::action::drop;
      return a;
    }
    proto::produce_response resp;
    put_produce_errors(resp, fx->topics);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, req.acks == 0 ? nullptr : std::shared_ptr<const response_fixup>(fx));
}

// --- Fetch -----------------------------------------------------------------------------------

namespace {

proto::fetch_response::partition_data fetch_error_partition(std::int32_t partition, std::int16_t error) {
  proto::fetch_response::partition_data p;
  p.partition_index = partition;
  p.error_code = error;
  p.high_watermark = -1;
  p.records = proto::bytes_view{};
  return p;
}

void put_fetch_errors(proto::fetch_response& resp, const std::vector<response_fixup::topic_error>& topics,
                      std::int16_t version) {
  for (const auto& te : topics) {
    proto::fetch_response::fetchable_topic_response* t = nullptr;
    for (auto& x : resp.responses)
      if (version >= 13 ? x.topic_id == te.id : x.topic == te.name) t = &x;
    if (!t) {
      t = &resp.responses.emplace_back();
      t->topic = te.name;
      t->topic_id = te.id;
    }
    for (const auto& pe : te.partitions) t->partitions.push_back(fetch_error_partition(pe.partition, pe.error));
  }
}

// The topic ids of a Fetch v13+ request this worker has not learnt yet.
std::vector<proto::uuid> unknown_fetch_ids(const proto::fetch_request& req, const topic_names& names) {
  std::vector<proto::uuid> unknown;
  for (const auto& t : req.topics) add_unknown_id(unknown, names, t.topic_id);
  return unknown;
}

}  // namespace

request_verdict authorize_fetch(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::fetch_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  const std::int16_t v = rq.version();
  auto fx = new_fixup(rq);
  auto record = [&](const proto::fetch_request::fetch_topic& t, std::string_view name, std::int16_t error) {
    response_fixup::topic_error te;
    te.name = std::string(name);
    te.id = t.topic_id;
    for (const auto& p : t.partitions) te.partitions.push_back({p.partition, error, {}});
    fx->topics.push_back(std::move(te));
  };

  // A follower fetch (replication) needs ClusterAction, which is never granted to clients.
  const bool follower = v <= 14 ? req.replica_id >= 0 : req.replica_state.replica_id >= 0;
  if (follower) {
    for (const auto& t : req.topics) record(t, t.topic, kafka_error::cluster_authorization_failed);
    proto::fetch_response resp;
    resp.error_code = kafka_error::cluster_authorization_failed;
    put_fetch_errors(resp, fx->topics, v);
    return answer(rq, resp, fx);
  }

  if (v >= 13) {
    if (auto unknown = unknown_fetch_ids(req, rq.names); !unknown.empty() && !rq.ids_looked_up)
      return lookup_ids(std::move(unknown));
  }
  std::erase_if(req.topics, [&](const proto::fetch_request::fetch_topic& t) {
    const std::string* known = v >= 13 ? rq.names.name(t.topic_id) : nullptr;
    if (v >= 13 && !known) {
      record(t, {}, kafka_error::unknown_topic_id);
      return true;
    }
    const std::string_view name = v >= 13 ? std::string_view(*known) : t.topic;
    if (rq.allowed(acl_operation::read, resource_type::topic, name)) return false;
    record(t, name, kafka_error::topic_authorization_failed);
    return true;
  });
  if (fx->topics.empty()) return {};
  // Forgetting partitions is always allowed and goes through. A request of an incremental fetch
  // session still goes upstream with nothing left in it, so the session's epoch moves on.
  if (req.topics.empty() && (v < 7 || (req.session_id == 0 && req.forgotten_topics_data.empty()))) {
    proto::fetch_response resp;
    put_fetch_errors(resp, fx->topics, v);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

completion complete_fetch(const authz_response& rs) {
  const auto decoded = rs.ex.message<proto::fetch_response>();
  if (!decoded) return std::unexpected(decoded.error());
  proto::fetch_response* response = *decoded;
  const std::int16_t version = rs.version();
  bool changed = false;
  // An incremental session returns partitions the current request does not list: each topic
  // is checked again, and what the principal may not read leaves with no records.
  for (auto& t : response->responses) {
    const std::string* known = version >= 13 ? rs.names.name(t.topic_id) : nullptr;
    const bool readable = (version < 13 || known) &&
                          rs.allowed(acl_operation::read, resource_type::topic,
                                     version >= 13 ? std::string_view(*known) : t.topic);
    if (readable) continue;
    bool replaced = false;
    for (auto& p : t.partitions) {
      if (p.error_code == kafka_error::topic_authorization_failed && (!p.records || p.records->empty())) continue;
      p = fetch_error_partition(p.partition_index, kafka_error::topic_authorization_failed);
      replaced = changed = true;
    }
    if (replaced)
      rs.ex.denied("topic", known ? std::string_view(*known) : std::string_view(t.topic),
                   kafka_error::topic_authorization_failed, "not readable (returned by the fetch session)");
  }
  if (!rs.fixup.topics.empty()) {
    put_fetch_errors(*response, rs.fixup.topics, version);
    changed = true;
  }
  if (changed) rs.ex.rewrote();
  return {};
}

// --- ListOffsets, OffsetForLeaderEpoch, DeleteRecords, DescribeProducers ---------------------

namespace {

void put_list_offsets_errors(proto::list_offsets_response& resp, const response_fixup& fx) {
  put_partition_errors(resp.topics, fx.topics);
}

void put_epoch_errors(proto::offset_for_leader_epoch_response& resp, const response_fixup& fx) {
  put_topics(
      resp.topics, fx.topics, [](auto& t) -> std::string_view& { return t.topic; },
      topic_partitions_ref,
      [](const response_fixup::partition_error& pe) {
        proto::offset_for_leader_epoch_response::epoch_end_offset p;
        p.partition = pe.partition;
        p.error_code = pe.error;
        return p;
      });
}

void put_delete_records_errors(proto::delete_records_response& resp, const response_fixup& fx) {
  put_partition_errors(resp.topics, fx.topics, [](auto& p, const auto&) { p.low_watermark = -1; });
}

void put_producers_errors(proto::describe_producers_response& resp, const response_fixup& fx) {
  put_partition_errors(resp.topics, fx.topics, [](auto& p, const auto& pe) { p.error_message = message_of(pe.error); });
}

// The common shape: check each topic with `op`, take the denied ones out, answer when nothing
// is left, else forward the rest with a fixup that puts them back.
template <class Req, class Resp, class NameOf, class PartitionsOf, class Put>
request_verdict per_topic(authz_request& rq, acl_operation op, NameOf name_of, PartitionsOf partitions_of, Put put) {
  request_verdict out;
  auto* decoded = decode_request<Req>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  take_topics(req.topics, fx->topics, name_of, partitions_of, topic_check(rq, op));
  if (fx->topics.empty()) return {};
  if (req.topics.empty()) {
    Resp resp;
    put(resp, *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

}  // namespace

request_verdict authorize_list_offsets(authz_request& rq) {
  return per_topic<proto::list_offsets_request, proto::list_offsets_response>(
      rq, acl_operation::describe, topic_name_of, each_partition_index, put_list_offsets_errors);
}

request_verdict authorize_offset_for_leader_epoch(authz_request& rq) {
  // Kafka: ClusterAction (followers) or Describe on the topic (consumers, KIP-320).
  return per_topic<proto::offset_for_leader_epoch_request, proto::offset_for_leader_epoch_response>(
      rq, acl_operation::describe, [](const auto& t) { return t.topic; },
      [](const auto& t, auto fn) {
        for (const auto& p : t.partitions) fn(p.partition);
      },
      put_epoch_errors);
}

request_verdict authorize_delete_records(authz_request& rq) {
  return per_topic<proto::delete_records_request, proto::delete_records_response>(
      rq, acl_operation::delete_, topic_name_of, each_partition_index, put_delete_records_errors);
}

request_verdict authorize_describe_producers(authz_request& rq) {
  return per_topic<proto::describe_producers_request, proto::describe_producers_response>(
      rq, acl_operation::read, topic_name_of, each_listed_partition, put_producers_errors);
}

// --- Metadata --------------------------------------------------------------------------------

namespace {

void put_metadata_errors(proto::metadata_response& resp, const response_fixup& fx) {
  for (const auto& te : fx.topics) {
    auto& t = resp.topics.emplace_back();
    t.error_code = te.error;
    if (te.name_null)
      t.name = std::nullopt;
    else
      t.name = std::string_view(te.name);
    t.topic_id = te.id;
  }
}

}  // namespace

request_verdict authorize_metadata(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::metadata_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  const std::int16_t v = rq.version();
  auto fx = new_fixup(rq);
  fx->learn_ids = v >= 10;
  fx->filter_topics = true;
  fx->topic_operations = v >= 8 && req.include_topic_authorized_operations;
  fx->cluster_operations = v >= 8 && v <= 10 && req.include_cluster_authorized_operations;
  const bool all_topics = !req.topics || (v == 0 && req.topics->empty());
  if (all_topics) return forward_with(std::move(fx));

  auto& topics = *req.topics;
  if (v >= 10) {
    std::vector<proto::uuid> unknown;
    for (const auto& t : topics)
      if (!t.name && t.topic_id != proto::uuid{}) add_unknown_id(unknown, rq.names, t.topic_id);
    if (!unknown.empty() && !rq.ids_looked_up) return lookup_ids(std::move(unknown));
  }
  bool changed = false;
  bool may_create = true;
  std::erase_if(topics, [&](const proto::metadata_request::metadata_request_topic& t) {
    response_fixup::topic_error te;
    te.id = t.topic_id;
    std::string_view name;
    if (t.name) {
      name = *t.name;
    } else if (const std::string* known = rq.names.name(t.topic_id)) {
      name = *known;
      te.name_null = true;  // asked by id: a denied answer does not reveal the name
    } else {
      te.name_null = true;
      te.error = kafka_error::unknown_topic_id;
    }
    if (te.error == kafka_error::none) {
      if (rq.allowed(acl_operation::describe, resource_type::topic, name)) {
        if (!rq.allowed(acl_operation::create, resource_type::topic, name)) may_create = false;
        return false;
      }
      te.error = kafka_error::topic_authorization_failed;
      if (!te.name_null) te.name = std::string(name);
    }
    fx->topics.push_back(std::move(te));
    changed = true;
    return true;
  });
  // Auto-creation is one flag for the request: kept only when every topic it could create may
  // be created (Create on the topic or on the cluster).
  if (v >= 4 && req.allow_auto_topic_creation && !may_create &&
      !rq.cluster_allowed(acl_operation::create)) {
    req.allow_auto_topic_creation = false;
    changed = true;
  }
  // An empty list asks for every topic at v0: it still goes upstream (the answer carries the
  // brokers), and the topics it returns are dropped.
  if (v == 0 && topics.empty() && changed) fx->drop_forwarded_topics = true;
  if (!changed) return forward_with(std::move(fx));
  return forward_rewritten(rq, fx);
}

// --- CreateTopics, DeleteTopics, CreatePartitions --------------------------------------------

namespace {

// Takes out of `topics` each one `op` is not allowed on, recording it in the fixup with a
// topic-level TOPIC_AUTHORIZATION_FAILED. name_of(topic) -> string_view.
template <class Topic, class NameOf>
void take_denied_topics(const authz_request& rq, acl_operation op, std::vector<Topic>& topics, NameOf name_of,
                        response_fixup& fx) {
  std::erase_if(topics, [&](const Topic& t) {
    const std::string_view name = name_of(t);
    if (rq.allowed(op, resource_type::topic, name)) return false;
    response_fixup::topic_error te;
    te.name = std::string(name);
    te.error = kafka_error::topic_authorization_failed;
    fx.topics.push_back(std::move(te));
    return true;
  });
}

}  // namespace

request_verdict authorize_create_topics(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::create_topics_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  fx->topic_config_access = rq.version() >= 5;
  if (!rq.cluster_allowed(acl_operation::create))
    take_denied_topics(rq, acl_operation::create, req.topics, topic_name_of, *fx);
  if (fx->topics.empty()) return fx->topic_config_access ? forward_with(std::move(fx)) : request_verdict{};
  if (req.topics.empty()) {
    proto::create_topics_response resp;
    for (const auto& te : fx->topics) {
      auto& t = resp.topics.emplace_back();
      t.name = te.name;
      t.error_code = te.error;
      t.error_message = "Authorization failed.";  // Kafka's text for CreateTopics
    }
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

request_verdict authorize_delete_topics(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::delete_topics_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  const std::int16_t v = rq.version();
  auto fx = new_fixup(rq);
  if (v < 6) {
    take_denied_topics(rq, acl_operation::delete_, req.topic_names, [](std::string_view name) { return name; }, *fx);
  } else {
    std::vector<proto::uuid> unknown;
    for (const auto& t : req.topics)
      if (!t.name) add_unknown_id(unknown, rq.names, t.topic_id);
    if (!unknown.empty() && !rq.ids_looked_up) return lookup_ids(std::move(unknown));
    std::erase_if(req.topics, [&](const proto::delete_topics_request::delete_topic_state& t) {
      response_fixup::topic_error te;
      te.id = t.topic_id;
      const std::string* known = t.name ? nullptr : rq.names.name(t.topic_id);
      const std::string_view name = t.name ? *t.name : known ? std::string_view(*known) : std::string_view();
      if (!t.name && !known) {
        te.name_null = true;
        te.error = kafka_error::unknown_topic_id;
      } else if (!t.name && !rq.allowed(acl_operation::describe, resource_type::topic, name)) {
        // Kafka: asked by id without Describe, the topic is reported unknown (name not revealed).
        te.name_null = true;
        te.error = kafka_error::unknown_topic_id;
      } else if (!rq.allowed(acl_operation::delete_, resource_type::topic, name)) {
        te.name = std::string(name);
        te.error = kafka_error::topic_authorization_failed;
      } else {
        return false;
      }
      fx->topics.push_back(std::move(te));
      return true;
    });
  }
  if (fx->topics.empty()) return {};
  if ((v < 6 ? req.topic_names.empty() : req.topics.empty())) {
    proto::delete_topics_response resp;
    for (const auto& te : fx->topics) {
      auto& r = resp.responses.emplace_back();
      if (te.name_null)
        r.name = std::nullopt;
      else
        r.name = std::string_view(te.name);
      r.topic_id = te.id;
      r.error_code = te.error;
      r.error_message = message_of(te.error);
    }
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

request_verdict authorize_create_partitions(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::create_partitions_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  take_denied_topics(rq, acl_operation::alter, req.topics, topic_name_of, *fx);
  if (fx->topics.empty()) return {};
  if (req.topics.empty()) {
    proto::create_partitions_response resp;
    for (const auto& te : fx->topics) resp.results.push_back({te.name, te.error, message_of(te.error), {}});
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

// --- Responses -------------------------------------------------------------------------------

completion complete_produce(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::produce_response>(rs, !fx.topics.empty(),
                                                  [&](auto& m) { put_produce_errors(m, fx.topics); });
}

completion complete_list_offsets(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::list_offsets_response>(rs, !fx.topics.empty(),
                                                       [&](auto& m) { put_list_offsets_errors(m, fx); });
}

completion complete_offset_for_leader_epoch(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::offset_for_leader_epoch_response>(rs, !fx.topics.empty(),
                                                                  [&](auto& m) { put_epoch_errors(m, fx); });
}

completion complete_delete_records(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::delete_records_response>(rs, !fx.topics.empty(),
                                                         [&](auto& m) { put_delete_records_errors(m, fx); });
}

completion complete_describe_producers(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::describe_producers_response>(rs, !fx.topics.empty(),
                                                             [&](auto& m) { put_producers_errors(m, fx); });
}

completion complete_metadata(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::metadata_response>(rs, [&](auto& m, bool& changed) {
    if (fx.learn_ids)
      for (const auto& t : m.topics)
        if (t.name) rs.names.learn(t.topic_id, *t.name);
    if (fx.drop_forwarded_topics && !m.topics.empty()) {
      m.topics.clear();
      changed = true;
    }
    auto name_of = [&](const proto::metadata_response::metadata_response_topic& t) {
      if (t.name) return std::optional<std::string_view>(*t.name);
      const std::string* known = rs.names.name(t.topic_id);
      return known ? std::optional<std::string_view>(*known) : std::nullopt;
    };
    if (fx.filter_topics) {
      const std::size_t before = m.topics.size();
      std::erase_if(m.topics, [&](const auto& t) {
        const auto name = name_of(t);
        return !name || !rs.allowed(acl_operation::describe, resource_type::topic, *name);
      });
      changed |= m.topics.size() != before;
    }
    if (fx.topic_operations) {
      for (auto& t : m.topics) {
        const std::int32_t ops = rs.acl.authorized_operations(resource_type::topic, name_of(t).value_or(""));
        changed |= t.topic_authorized_operations != ops;
        t.topic_authorized_operations = ops;
      }
    }
    if (fx.cluster_operations) {
      const std::int32_t ops =
          rs.allowed(acl_operation::describe, resource_type::cluster, cluster_resource_name)
              ? rs.acl.authorized_operations(resource_type::cluster, cluster_resource_name)
              : 0;
      changed |= m.cluster_authorized_operations != ops;
      m.cluster_authorized_operations = ops;
    }
    if (!fx.topics.empty()) {
      put_metadata_errors(m, fx);
      changed = true;
    }
  });
}

completion complete_create_topics(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::create_topics_response>(rs, [&](auto& m, bool& changed) {
    if (fx.topic_config_access) {
      // Kafka: a created topic's configs are shown only with DescribeConfigs on it.
      for (auto& t : m.topics) {
        if (t.topic_config_error_code != kafka_error::none ||
            rs.allowed(acl_operation::describe_configs, resource_type::topic, t.name))
          continue;
        t.topic_config_error_code = kafka_error::topic_authorization_failed;
        t.num_partitions = -1;
        t.replication_factor = -1;
        t.configs.emplace();
        changed = true;
      }
    }
    for (const auto& te : fx.topics) {
      auto& t = m.topics.emplace_back();
      t.name = te.name;
      t.error_code = te.error;
      t.error_message = "Authorization failed.";
      changed = true;
    }
  });
}

completion complete_delete_topics(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::delete_topics_response>(rs, [&](auto& m, bool& changed) {
    for (const auto& te : fx.topics) {
      auto& r = m.responses.emplace_back();
      if (te.name_null)
        r.name = std::nullopt;
      else
        r.name = std::string_view(te.name);
      r.topic_id = te.id;
      r.error_code = te.error;
      r.error_message = message_of(te.error);
      changed = true;
    }
  });
}

completion complete_create_partitions(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::create_partitions_response>(rs, [&](auto& m, bool& changed) {
    for (const auto& te : fx.topics) {
      m.results.push_back({te.name, te.error, message_of(te.error), {}});
      changed = true;
    }
  });
}

}  // namespace kgw::policies

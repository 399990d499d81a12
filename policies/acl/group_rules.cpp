// Group APIs: OffsetCommit, OffsetFetch, OffsetDelete, FindCoordinator, JoinGroup, Heartbeat,
// LeaveGroup, SyncGroup, DescribeGroups, ListGroups, DeleteGroups, ConsumerGroupHeartbeat (see acl_policy.h).
#include <algorithm>

#include "policies/acl/acl_rules.h"
#include "protocol/consumer_group_heartbeat.h"
#include "protocol/delete_groups.h"
#include "protocol/describe_groups.h"
#include "protocol/find_coordinator.h"
#include "protocol/heartbeat.h"
#include "protocol/join_group.h"
#include "protocol/leave_group.h"
#include "protocol/list_groups.h"
#include "protocol/offset_commit.h"
#include "protocol/offset_delete.h"
#include "protocol/offset_fetch.h"
#include "protocol/sync_group.h"

namespace kgw::policies {
namespace proto = kgw::protocol;

namespace {

bool group_allowed(const authz_request& rq, acl_operation op, std::string_view group) {
  return rq.allowed(op, resource_type::group, group);
}

// --- OffsetCommit ------------------------------------------------------------------------------

void put_commit_errors(proto::offset_commit_response& resp, const std::vector<response_fixup::topic_error>& topics) {
  put_partition_errors(resp.topics, topics);
}

}  // namespace

request_verdict authorize_offset_commit(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::offset_commit_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  const bool group_ok = group_allowed(rq, acl_operation::read, req.group_id);
  take_topics(req.topics, fx->topics, topic_name_of, each_partition_index, [&](std::string_view name) {
    if (!group_ok) return kafka_error::group_authorization_failed;
    return topic_check(rq, acl_operation::read)(name);
  });
  if (fx->topics.empty() && group_ok) return {};
  if (req.topics.empty()) {
    proto::offset_commit_response resp;
    put_commit_errors(resp, fx->topics);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

// --- OffsetFetch -------------------------------------------------------------------------------

namespace {

// Filters an all-topics answer and puts the removed topics back, in one group's topic list.
template <class Topic, class Allowed>
bool fix_offset_fetch_topics(std::vector<Topic>& topics, const response_fixup::group_fixup& g, Allowed allowed) {
  bool changed = false;
  if (g.filter_topics) {
    const std::size_t before = topics.size();
    std::erase_if(topics, [&](const Topic& t) { return !allowed(t.name); });
    changed = topics.size() != before;
  }
  put_partition_errors(topics, g.topics, [](auto& p, const auto&) {
    p.committed_offset = -1;
    p.committed_leader_epoch = -1;
    p.metadata = std::string_view();
  });
  return changed || !g.topics.empty();
}

// Applies the fixup to an OffsetFetch response (forwarded answer or one built here).
template <class Allowed>
bool fix_offset_fetch(proto::offset_fetch_response& resp, const response_fixup& fx, std::int16_t v, Allowed allowed) {
  bool changed = false;
  if (v < 8) {
    if (!fx.groups.empty()) changed |= fix_offset_fetch_topics(resp.topics, fx.groups.front(), allowed);
    return changed;
  }
  for (const auto& g : fx.groups) {
    proto::offset_fetch_response::offset_fetch_response_group* rg = nullptr;
    if (!g.removed)
      for (auto& x : resp.groups)
        if (x.group_id == g.group) rg = &x;
    if (!rg) {
      if (!g.removed) continue;  // the broker did not answer for it: nothing to fix
      rg = &resp.groups.emplace_back();
      rg->group_id = g.group;
      changed = true;
    }
    changed |= fix_offset_fetch_topics(rg->topics, g, allowed);
  }
  for (const auto& e : fx.entries) {
    auto& rg = resp.groups.emplace_back();
    rg.group_id = e.name;
    rg.error_code = e.error;
    changed = true;
  }
  return changed;
}

}  // namespace

request_verdict authorize_offset_fetch(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::offset_fetch_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  const std::int16_t v = rq.version();
  auto fx = new_fixup(rq);
  auto describable = topic_check(rq, acl_operation::describe);
  auto allowed_topic = [&](std::string_view name) {
    return rq.allowed(acl_operation::describe, resource_type::topic, name);
  };

  if (v < 8) {
    auto& g = fx->groups.emplace_back();
    g.group = std::string(req.group_id);
    if (!group_allowed(rq, acl_operation::describe, req.group_id)) {
      // Kafka's error answer: v0-1 every requested partition, v2+ the top-level error.
      proto::offset_fetch_response resp;
      if (v < 2) {
        if (req.topics)
          take_topics(*req.topics, g.topics, topic_name_of, each_listed_partition,
                      [](std::string_view) { return kafka_error::group_authorization_failed; });
        fix_offset_fetch(resp, *fx, v, allowed_topic);
      } else {
        resp.error_code = kafka_error::group_authorization_failed;
      }
      return answer(rq, resp, fx);
    }
    if (!req.topics) {  // all topics: the answer is filtered
      g.filter_topics = true;
      return forward_with(std::move(fx));
    }
    if (req.topics->empty()) return {};
    take_topics(*req.topics, g.topics, topic_name_of, each_listed_partition, describable);
    if (g.topics.empty()) return {};
    if (req.topics->empty()) {
      proto::offset_fetch_response resp;
      fix_offset_fetch(resp, *fx, v, allowed_topic);
      return answer(rq, resp, fx);
    }
    return forward_rewritten(rq, fx);
  }

  bool changed = false;
  std::erase_if(req.groups, [&](proto::offset_fetch_request::offset_fetch_request_group& rg) {
    if (!group_allowed(rq, acl_operation::describe, rg.group_id)) {
      fx->entries.push_back({std::string(rg.group_id), kafka_error::group_authorization_failed, 0});
      changed = true;
      return true;
    }
    response_fixup::group_fixup g;
    g.group = std::string(rg.group_id);
    if (!rg.topics) {
      g.filter_topics = true;
    } else if (!rg.topics->empty()) {
      take_topics(*rg.topics, g.topics, topic_name_of, each_listed_partition, describable);
      g.removed = rg.topics->empty();
      changed |= !g.topics.empty();
    }
    const bool removed = g.removed;
    if (g.filter_topics || !g.topics.empty()) fx->groups.push_back(std::move(g));
    return removed;
  });
  if (req.groups.empty() && changed) {
    proto::offset_fetch_response resp;
    fix_offset_fetch(resp, *fx, v, allowed_topic);
    return answer(rq, resp, fx);
  }
  if (!changed) return fx->groups.empty() ? request_verdict{} : forward_with(std::move(fx));
  return forward_rewritten(rq, fx);
}

// --- OffsetDelete ------------------------------------------------------------------------------

namespace {

void put_offset_delete_errors(proto::offset_delete_response& resp, const response_fixup& fx) {
  put_partition_errors(resp.topics, fx.topics);
}

}  // namespace

request_verdict authorize_offset_delete(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::offset_delete_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  if (!group_allowed(rq, acl_operation::delete_, req.group_id)) {
    proto::offset_delete_response resp;
    resp.error_code = kafka_error::group_authorization_failed;
    return answer(rq, resp, denial(rq, req.group_id, resp.error_code));
  }
  auto fx = new_fixup(rq);
  take_topics(req.topics, fx->topics, topic_name_of, each_partition_index, topic_check(rq, acl_operation::read));
  if (fx->topics.empty()) return {};
  if (req.topics.empty()) {
    proto::offset_delete_response resp;
    put_offset_delete_errors(resp, *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

// --- FindCoordinator ---------------------------------------------------------------------------

namespace {

std::int16_t coordinator_error(const authz_request& rq, std::int8_t key_type, std::string_view key) {
  switch (key_type) {
    case 0:  // group
      return group_allowed(rq, acl_operation::describe, key) ? kafka_error::none
                                                             : kafka_error::group_authorization_failed;
    case 1:  // transaction
      return rq.allowed(acl_operation::describe, resource_type::transactional_id, key)
                 ? kafka_error::none
                 : kafka_error::transactional_id_authorization_failed;
    case 2:  // share group state: brokers only (Kafka: ClusterAction)
      return kafka_error::cluster_authorization_failed;
    default:
      return kafka_error::invalid_request;
  }
}

void put_coordinator_errors(proto::find_coordinator_response& resp, const response_fixup& fx) {
  for (const auto& e : fx.entries) {
    auto& c = resp.coordinators.emplace_back();
    c.key = e.name;
    c.node_id = -1;
    c.port = -1;
    c.error_code = e.error;
    c.error_message = message_of(e.error);
  }
}

}  // namespace

request_verdict authorize_find_coordinator(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::find_coordinator_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  if (rq.version() < 4) {
    const std::int16_t error = coordinator_error(rq, req.key_type, req.key);
    if (error == kafka_error::none) return {};
    proto::find_coordinator_response resp;
    resp.error_code = error;
    resp.error_message = message_of(error);
    resp.node_id = -1;
    resp.port = -1;
    return answer(rq, resp, denial(rq, req.key, error));
  }
  auto fx = new_fixup(rq);
  std::erase_if(req.coordinator_keys, [&](std::string_view key) {
    const std::int16_t error = coordinator_error(rq, req.key_type, key);
    if (error == kafka_error::none) return false;
    fx->entries.push_back({std::string(key), error, 0});
    return true;
  });
  if (fx->entries.empty()) return {};
  if (req.coordinator_keys.empty()) {
    proto::find_coordinator_response resp;
    put_coordinator_errors(resp, *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

// --- JoinGroup, Heartbeat, LeaveGroup, SyncGroup, ConsumerGroupHeartbeat ----------------------

request_verdict authorize_group_member(authz_request& rq) {
  constexpr std::int16_t denied = kafka_error::group_authorization_failed;
  request_verdict out;
  switch (rq.info.api_key) {
    case proto::join_group_request::api_key: {
      auto* decoded = decode_request<proto::join_group_request>(rq, out);
      if (!decoded) return out;
      auto& req = *decoded;
      if (group_allowed(rq, acl_operation::read, req.group_id)) return {};
      proto::join_group_response resp;
      resp.error_code = denied;
      resp.generation_id = -1;
      resp.protocol_name = rq.version() >= 7 ? std::nullopt : std::optional<std::string_view>("");
      resp.member_id = req.member_id;
      return answer(rq, resp, denial(rq, req.group_id, denied));
    }
    case proto::heartbeat_request::api_key: {
      auto* decoded = decode_request<proto::heartbeat_request>(rq, out);
      if (!decoded) return out;
      auto& req = *decoded;
      if (group_allowed(rq, acl_operation::read, req.group_id)) return {};
      proto::heartbeat_response resp;
      resp.error_code = denied;
      return answer(rq, resp, denial(rq, req.group_id, denied));
    }
    case proto::leave_group_request::api_key: {
      auto* decoded = decode_request<proto::leave_group_request>(rq, out);
      if (!decoded) return out;
      auto& req = *decoded;
      if (group_allowed(rq, acl_operation::read, req.group_id)) return {};
      proto::leave_group_response resp;
      resp.error_code = denied;
      return answer(rq, resp, denial(rq, req.group_id, denied));
    }
    case proto::sync_group_request::api_key: {
      auto* decoded = decode_request<proto::sync_group_request>(rq, out);
      if (!decoded) return out;
      auto& req = *decoded;
      if (group_allowed(rq, acl_operation::read, req.group_id)) return {};
      proto::sync_group_response resp;
      resp.error_code = denied;
      return answer(rq, resp, denial(rq, req.group_id, denied));
    }
    default:
      return refuse("not a group member API");
  }
}

request_verdict authorize_consumer_group_heartbeat(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::consumer_group_heartbeat_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  std::int16_t error = kafka_error::none;
  if (!group_allowed(rq, acl_operation::read, req.group_id)) {
    error = kafka_error::group_authorization_failed;
  } else if (req.subscribed_topic_names) {
    // Kafka: a subscription may only name topics the member may describe.
    for (auto name : *req.subscribed_topic_names)
      if (!rq.allowed(acl_operation::describe, resource_type::topic, name))
        error = kafka_error::topic_authorization_failed;
  }
  if (error == kafka_error::none) return {};
  proto::consumer_group_heartbeat_response resp;
  resp.error_code = error;
  resp.error_message = message_of(error);
  return answer(rq, resp, denial(rq, req.group_id, error));
}

// --- DescribeGroups, ListGroups, DeleteGroups --------------------------------------------------

namespace {

void put_described_group_errors(proto::describe_groups_response& resp, const response_fixup& fx) {
  for (const auto& e : fx.entries) {
    auto& g = resp.groups.emplace_back();
    g.error_code = e.error;
    g.group_id = e.name;
  }
}

void put_deleted_group_errors(proto::delete_groups_response& resp, const response_fixup& fx) {
  for (const auto& e : fx.entries) resp.results.push_back({e.name, e.error, {}});
}

// Takes the groups the principal may not `op` out of a list of names.
void take_groups(const authz_request& rq, std::vector<std::string_view>& groups, acl_operation op,
                 response_fixup& fx) {
  std::erase_if(groups, [&](std::string_view g) {
    if (group_allowed(rq, op, g)) return false;
    fx.entries.push_back({std::string(g), kafka_error::group_authorization_failed, 0});
    return true;
  });
}

}  // namespace

request_verdict authorize_describe_groups(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::describe_groups_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  // The broker computes authorized operations for the gateway's own account: replace them.
  fx->group_operations = rq.version() >= 3 && req.include_authorized_operations;
  take_groups(rq, req.groups, acl_operation::describe, *fx);
  if (fx->entries.empty()) return fx->group_operations ? forward_with(std::move(fx)) : request_verdict{};
  if (req.groups.empty()) {
    proto::describe_groups_response resp;
    put_described_group_errors(resp, *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

request_verdict authorize_list_groups(authz_request& rq) {
  request_verdict out;
  if (!decode_request<proto::list_groups_request>(rq, out)) return out;  // well-formed, nothing to take out
  // Kafka: Describe on the cluster lists every group; otherwise those the principal may describe.
  if (rq.cluster_allowed(acl_operation::describe)) return {};
  auto fx = new_fixup(rq);
  fx->filter_entries = true;
  return forward_with(std::move(fx));
}

request_verdict authorize_delete_groups(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::delete_groups_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  take_groups(rq, req.groups_names, acl_operation::delete_, *fx);
  if (fx->entries.empty()) return {};
  if (req.groups_names.empty()) {
    proto::delete_groups_response resp;
    put_deleted_group_errors(resp, *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

// --- Responses -----------------------------------------------------------------------------------

completion complete_offset_commit(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::offset_commit_response>(rs, !fx.topics.empty(),
                                                        [&](auto& m) { put_commit_errors(m, fx.topics); });
}

completion complete_offset_fetch(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  auto describable_topic = [&](std::string_view name) {
    return rs.allowed(acl_operation::describe, resource_type::topic, name);
  };
  return with_response<proto::offset_fetch_response>(rs, [&](auto& m, bool& changed) {
    changed = fix_offset_fetch(m, fx, rs.version(), describable_topic);
  });
}

completion complete_offset_delete(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::offset_delete_response>(rs, !fx.topics.empty(),
                                                        [&](auto& m) { put_offset_delete_errors(m, fx); });
}

completion complete_find_coordinator(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  if (rs.version() < 4) return {};
  return put_back_errors<proto::find_coordinator_response>(rs, !fx.entries.empty(),
                                                           [&](auto& m) { put_coordinator_errors(m, fx); });
}

completion complete_describe_groups(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::describe_groups_response>(rs, [&](auto& m, bool& changed) {
    if (fx.group_operations) {
      for (auto& g : m.groups) {
        if (g.error_code != kafka_error::none) continue;
        const std::int32_t ops = rs.acl.authorized_operations(resource_type::group, g.group_id);
        changed |= g.authorized_operations != ops;
        g.authorized_operations = ops;
      }
    }
    put_described_group_errors(m, fx);
    changed |= !fx.entries.empty();
  });
}

completion complete_list_groups(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::list_groups_response>(rs, [&](auto& m, bool& changed) {
    if (!fx.filter_entries) return;
    const std::size_t before = m.groups.size();
    std::erase_if(m.groups, [&](const auto& g) {
      return !rs.allowed(acl_operation::describe, resource_type::group, g.group_id);
    });
    changed = m.groups.size() != before;
  });
}

completion complete_delete_groups(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::delete_groups_response>(rs, !fx.entries.empty(),
                                                        [&](auto& m) { put_deleted_group_errors(m, fx); });
}

}  // namespace kgw::policies

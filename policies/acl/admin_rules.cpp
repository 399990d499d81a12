// Configs, transactions and the cluster: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit,
// DescribeTransactions, ListTransactions, DescribeCluster (see acl_policy.h).
#include <algorithm>

#include "policies/acl/acl_rules.h"
#include "protocol/add_offsets_to_txn.h"
#include "protocol/add_partitions_to_txn.h"
#include "protocol/alter_configs.h"
#include "protocol/describe_cluster.h"
#include "protocol/describe_configs.h"
#include "protocol/describe_transactions.h"
#include "protocol/end_txn.h"
#include "protocol/incremental_alter_configs.h"
#include "protocol/init_producer_id.h"
#include "protocol/list_transactions.h"
#include "protocol/txn_offset_commit.h"

namespace kgw::policies {
namespace proto = kgw::protocol;

namespace {

bool txn_writable(const authz_request& rq, std::string_view transactional_id) {
  return rq.allowed(acl_operation::write, resource_type::transactional_id, transactional_id);
}

// --- DescribeConfigs, AlterConfigs, IncrementalAlterConfigs -----------------------------------

// Kafka's ConfigResource.Type ids.
namespace config_resource {
constexpr std::int8_t topic = 2, broker = 4, broker_logger = 8, client_metrics = 16, group = 32;
}

std::int16_t config_error(const authz_request& rq, acl_operation op, std::int8_t type, std::string_view name) {
  switch (type) {
    case config_resource::topic:
      return rq.allowed(op, resource_type::topic, name) ? kafka_error::none : kafka_error::topic_authorization_failed;
    case config_resource::group:
      return rq.allowed(op, resource_type::group, name) ? kafka_error::none : kafka_error::group_authorization_failed;
    case config_resource::broker:
    case config_resource::broker_logger:
    case config_resource::client_metrics:
      return rq.cluster_allowed(op) ? kafka_error::none : kafka_error::cluster_authorization_failed;
    default:
      return kafka_error::invalid_request;  // Kafka: "Unexpected resource type"
  }
}

// Appends one error entry per removed resource to a config response's list.
template <class Entries>
void put_config_errors(Entries& entries, const response_fixup& fx) {
  for (const auto& e : fx.entries) {
    auto& r = entries.emplace_back();
    r.error_code = e.error;
    r.error_message = message_of(e.error);
    r.resource_type = e.resource_type;
    r.resource_name = e.name;
  }
}

template <class Req, class Resp, class EntriesOf>
request_verdict authorize_config_resources(authz_request& rq, acl_operation op, EntriesOf entries_of) {
  request_verdict out;
  auto* decoded = decode_request<Req>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  std::erase_if(req.resources, [&](const auto& r) {
    const std::int16_t error = config_error(rq, op, r.resource_type, r.resource_name);
    if (error == kafka_error::none) return false;
    fx->entries.push_back({std::string(r.resource_name), error, r.resource_type});
    return true;
  });
  if (fx->entries.empty()) return {};
  if (req.resources.empty()) {
    Resp resp;
    put_config_errors(entries_of(resp), *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

}  // namespace

request_verdict authorize_configs(authz_request& rq) {
  switch (rq.info.api_key) {
    case proto::describe_configs_request::api_key:
      return authorize_config_resources<proto::describe_configs_request, proto::describe_configs_response>(
          rq, acl_operation::describe_configs, [](auto& m) -> auto& { return m.results; });
    case proto::alter_configs_request::api_key:
      return authorize_config_resources<proto::alter_configs_request, proto::alter_configs_response>(
          rq, acl_operation::alter_configs, [](auto& m) -> auto& { return m.responses; });
    case proto::incremental_alter_configs_request::api_key:
      return authorize_config_resources<proto::incremental_alter_configs_request,
                                        proto::incremental_alter_configs_response>(
          rq, acl_operation::alter_configs, [](auto& m) -> auto& { return m.responses; });
    default:
      return refuse("not a config API");
  }
}

// --- InitProducerId ----------------------------------------------------------------------------

namespace {

// Kafka 3.x (KIP-679): an idempotent producer needs IdempotentWrite on the cluster or Write on
// some topic. The second needs a "does any rule allow this operation on some resource" question;
// it is asked when principal_acl offers it (allowed_on_some), else only the first counts.
template <class Acl>
bool write_on_some_topic(const Acl& acl) {
  if constexpr (requires { acl.allowed_on_some(acl_operation::write, resource_type::topic); })
    return acl.allowed_on_some(acl_operation::write, resource_type::topic);
  else
    return false;
}

}  // namespace

request_verdict authorize_init_producer_id(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::init_producer_id_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  std::int16_t error = kafka_error::none;
  if (req.transactional_id) {
    if (!txn_writable(rq, *req.transactional_id)) error = kafka_error::transactional_id_authorization_failed;
  } else if (!rq.cluster_allowed(acl_operation::idempotent_write) && !write_on_some_topic(rq.acl)) {
    error = kafka_error::cluster_authorization_failed;
  }
  if (error == kafka_error::none) return {};
  proto::init_producer_id_response resp;
  resp.error_code = error;
  resp.producer_id = -1;
  resp.producer_epoch = -1;
  return answer(rq, resp, denial(rq, req.transactional_id ? *req.transactional_id : cluster_resource_name, error));
}

// --- AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit -----------------------------

request_verdict authorize_add_partitions_to_txn(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::add_partitions_to_txn_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  if (rq.version() >= 4) {
    // v4+ (batched) is sent by brokers only; Kafka requires ClusterAction, never granted to clients.
    proto::add_partitions_to_txn_response resp;
    resp.error_code = kafka_error::cluster_authorization_failed;
    return answer(rq, resp, denial(rq, cluster_resource_name, resp.error_code));
  }
  // Kafka: the partitions are added all together or not at all. Without Write on the
  // transactional id every partition fails; with a denied topic, its partitions fail and the
  // others are OPERATION_NOT_ATTEMPTED.
  const bool txn_ok = txn_writable(rq, req.v3_and_below_transactional_id);
  bool any_denied = !txn_ok;
  for (const auto& t : req.v3_and_below_topics)
    if (!rq.allowed(acl_operation::write, resource_type::topic, t.name)) any_denied = true;
  if (!any_denied) return {};
  proto::add_partitions_to_txn_response resp;
  auto fx = txn_ok ? new_fixup(rq) : denial(rq, req.v3_and_below_transactional_id, kafka_error::transactional_id_authorization_failed);
  for (const auto& t : req.v3_and_below_topics) {
    const std::int16_t error = !txn_ok ? kafka_error::transactional_id_authorization_failed
                               : !rq.allowed(acl_operation::write, resource_type::topic, t.name)
                                   ? kafka_error::topic_authorization_failed
                                   : kafka_error::operation_not_attempted;
    if (error == kafka_error::topic_authorization_failed) fx->topics.push_back({std::string(t.name), false, {}, error, {}});
    auto& rt = resp.results_by_topic_v3_and_below.emplace_back();
    rt.name = t.name;
    for (auto p : t.partitions) rt.results_by_partition.push_back({p, error, {}});
  }
  return answer(rq, resp, fx);
}

request_verdict authorize_add_offsets_to_txn(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::add_offsets_to_txn_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  std::int16_t error = kafka_error::none;
  if (!txn_writable(rq, req.transactional_id))
    error = kafka_error::transactional_id_authorization_failed;
  else if (!rq.allowed(acl_operation::read, resource_type::group, req.group_id))
    error = kafka_error::group_authorization_failed;
  if (error == kafka_error::none) return {};
  proto::add_offsets_to_txn_response resp;
  resp.error_code = error;
  return answer(rq, resp,
                denial(rq, error == kafka_error::group_authorization_failed ? req.group_id : req.transactional_id, error));
}

request_verdict authorize_end_txn(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::end_txn_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  if (txn_writable(rq, req.transactional_id)) return {};
  proto::end_txn_response resp;
  resp.error_code = kafka_error::transactional_id_authorization_failed;
  return answer(rq, resp, denial(rq, req.transactional_id, resp.error_code));
}

namespace {

void put_txn_commit_errors(proto::txn_offset_commit_response& resp, const response_fixup& fx) {
  put_partition_errors(resp.topics, fx.topics);
}

}  // namespace

request_verdict authorize_txn_offset_commit(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::txn_offset_commit_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  std::int16_t whole = kafka_error::none;  // an error for every partition
  if (!txn_writable(rq, req.transactional_id))
    whole = kafka_error::transactional_id_authorization_failed;
  else if (!rq.allowed(acl_operation::read, resource_type::group, req.group_id))
    whole = kafka_error::group_authorization_failed;
  auto fx = new_fixup(rq);
  take_topics(req.topics, fx->topics, topic_name_of, each_partition_index, [&](std::string_view name) -> std::int16_t {
    if (whole != kafka_error::none) return whole;
    return rq.allowed(acl_operation::read, resource_type::topic, name) ? kafka_error::none
                                                                       : kafka_error::topic_authorization_failed;
  });
  if (fx->topics.empty() && whole == kafka_error::none) return {};
  if (req.topics.empty()) {
    proto::txn_offset_commit_response resp;
    put_txn_commit_errors(resp, *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

// --- DescribeTransactions, ListTransactions ----------------------------------------------------

namespace {

void put_transaction_errors(proto::describe_transactions_response& resp, const response_fixup& fx) {
  for (const auto& e : fx.entries) {
    auto& s = resp.transaction_states.emplace_back();
    s.error_code = e.error;
    s.transactional_id = e.name;
  }
}

}  // namespace

request_verdict authorize_describe_transactions(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::describe_transactions_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  auto fx = new_fixup(rq);
  // Kafka also hides the partitions of topics the principal may not describe.
  fx->filter_transaction_topics = true;
  std::erase_if(req.transactional_ids, [&](std::string_view id) {
    if (rq.allowed(acl_operation::describe, resource_type::transactional_id, id)) return false;
    fx->entries.push_back({std::string(id), kafka_error::transactional_id_authorization_failed, 0});
    return true;
  });
  if (fx->entries.empty()) return forward_with(std::move(fx));
  if (req.transactional_ids.empty()) {
    proto::describe_transactions_response resp;
    put_transaction_errors(resp, *fx);
    return answer(rq, resp, fx);
  }
  return forward_rewritten(rq, fx);
}

request_verdict authorize_list_transactions(authz_request& rq) {
  request_verdict out;
  if (!decode_request<proto::list_transactions_request>(rq, out)) return out;  // well-formed, nothing to take out
  auto fx = new_fixup(rq);
  fx->filter_entries = true;
  return forward_with(std::move(fx));
}

// --- DescribeCluster ---------------------------------------------------------------------------

request_verdict authorize_describe_cluster(authz_request& rq) {
  request_verdict out;
  auto* decoded = decode_request<proto::describe_cluster_request>(rq, out);
  if (!decoded) return out;
  auto& req = *decoded;
  // Kafka's brokers answer DescribeCluster to everyone (like Metadata); only the authorized
  // operations depend on the principal (Describe on the cluster: its operations, else 0). The
  // broker computes them for the gateway's own account, so they are replaced.
  if (!req.include_cluster_authorized_operations) return {};
  auto fx = new_fixup(rq);
  fx->cluster_operations = true;
  return forward_with(std::move(fx));
}

// --- Responses -----------------------------------------------------------------------------------

completion complete_describe_configs(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::describe_configs_response>(rs, !fx.entries.empty(),
                                                           [&](auto& m) { put_config_errors(m.results, fx); });
}

completion complete_alter_configs(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::alter_configs_response>(rs, !fx.entries.empty(),
                                                        [&](auto& m) { put_config_errors(m.responses, fx); });
}

completion complete_incremental_alter_configs(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::incremental_alter_configs_response>(
      rs, !fx.entries.empty(), [&](auto& m) { put_config_errors(m.responses, fx); });
}

completion complete_txn_offset_commit(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return put_back_errors<proto::txn_offset_commit_response>(rs, !fx.topics.empty(),
                                                            [&](auto& m) { put_txn_commit_errors(m, fx); });
}

completion complete_describe_transactions(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::describe_transactions_response>(rs, [&](auto& m, bool& changed) {
    if (fx.filter_transaction_topics) {
      for (auto& s : m.transaction_states) {
        const std::size_t before = s.topics.size();
        std::erase_if(s.topics, [&](const auto& t) {
          return !rs.allowed(acl_operation::describe, resource_type::topic, t.topic);
        });
        changed |= s.topics.size() != before;
      }
    }
    put_transaction_errors(m, fx);
    changed |= !fx.entries.empty();
  });
}

completion complete_list_transactions(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::list_transactions_response>(rs, [&](auto& m, bool& changed) {
    if (!fx.filter_entries) return;
    const std::size_t before = m.transaction_states.size();
    std::erase_if(m.transaction_states, [&](const auto& s) {
      return !rs.allowed(acl_operation::describe, resource_type::transactional_id, s.transactional_id);
    });
    changed = m.transaction_states.size() != before;
  });
}

completion complete_describe_cluster(const authz_response& rs) {
  const response_fixup& fx = rs.fixup;
  return with_response<proto::describe_cluster_response>(rs, [&](auto& m, bool& changed) {
    if (!fx.cluster_operations) return;
    const std::int32_t ops = rs.allowed(acl_operation::describe, resource_type::cluster, cluster_resource_name)
                                 ? rs.acl.authorized_operations(resource_type::cluster, cluster_resource_name)
                                 : 0;
    changed = m.cluster_authorized_operations != ops;
    m.cluster_authorized_operations = ops;
  });
}

}  // namespace kgw::policies

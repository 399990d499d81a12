#include "gateway/request_authorizer.h"

#include <algorithm>

#include "gateway/authz_support.h"
#include "protocol/fetch.h"

namespace kgw::gateway {
namespace proto = kgw::protocol;

namespace {

namespace api = proto::api;

using handler = authorization (*)(authz_request&);

// The APIs the gateway authorizes, and who does it. Keys not here are refused with ACLs on
// (unless pass_through_apis lists them).
handler handler_for(std::int16_t key) {
  switch (key) {
    case api::produce: return authorize_produce;
    case api::fetch: return authorize_fetch;
    case api::list_offsets: return authorize_list_offsets;
    case api::metadata: return authorize_metadata;
    case api::offset_commit: return authorize_offset_commit;
    case api::offset_fetch: return authorize_offset_fetch;
    case api::find_coordinator: return authorize_find_coordinator;
    case api::join_group:
    case api::heartbeat:
    case api::leave_group:
    case api::sync_group: return authorize_group_member;
    case api::describe_groups: return authorize_describe_groups;
    case api::list_groups: return authorize_list_groups;
    case api::create_topics: return authorize_create_topics;
    case api::delete_topics: return authorize_delete_topics;
    case api::delete_records: return authorize_delete_records;
    case api::init_producer_id: return authorize_init_producer_id;
    case api::offset_for_leader_epoch: return authorize_offset_for_leader_epoch;
    case api::add_partitions_to_txn: return authorize_add_partitions_to_txn;
    case api::add_offsets_to_txn: return authorize_add_offsets_to_txn;
    case api::end_txn: return authorize_end_txn;
    case api::txn_offset_commit: return authorize_txn_offset_commit;
    case api::describe_configs:
    case api::alter_configs:
    case api::incremental_alter_configs: return authorize_configs;
    case api::create_partitions: return authorize_create_partitions;
    case api::delete_groups: return authorize_delete_groups;
    case api::offset_delete: return authorize_offset_delete;
    case api::describe_cluster: return authorize_describe_cluster;
    case api::describe_producers: return authorize_describe_producers;
    case api::describe_transactions: return authorize_describe_transactions;
    case api::list_transactions: return authorize_list_transactions;
    case api::consumer_group_heartbeat: return authorize_consumer_group_heartbeat;
    default: return nullptr;
  }
}

// Needs no authorization: the version handshake and the SASL exchange (which ends at the
// gateway; request_inspector refuses it outside authentication).
bool always_allowed(std::int16_t key) {
  return key == api::api_versions || key == api::sasl_handshake || key == api::sasl_authenticate;
}

// "API Metadata (key 3)"; keys outside the schema have no name here: "API key 29".
std::string api_label(std::int16_t key) {
  const proto::api_info* api = proto::find_api(key);
  if (!api) return "API key " + std::to_string(key);
  return std::string("API ") + api->name + " (key " + std::to_string(key) + ")";
}

}  // namespace

void for_each_denial(const response_fixup& fx,
                     const std::function<void(std::string_view, std::string_view, std::int16_t)>& fn) {
  auto topics = [&](const std::vector<response_fixup::topic_error>& list) {
    for (const auto& t : list) {
      std::int16_t error = t.error;
      for (const auto& p : t.partitions)
        if (!error) error = p.error;
      if (error) fn("topic", t.name, error);
    }
  };
  topics(fx.topics);
  for (const auto& e : fx.entries) {
    if (!e.error) continue;
    const char* type = e.error == kafka_error::group_authorization_failed              ? "group"
                       : e.error == kafka_error::transactional_id_authorization_failed ? "transactional_id"
                       : e.error == kafka_error::cluster_authorization_failed          ? "cluster"
                       : e.resource_type != 0                                          ? "config"
                                                                                       : "topic";
    fn(type, e.name, e.error);
  }
  for (const auto& g : fx.groups) {
    if (g.removed) fn("group", g.group, kafka_error::group_authorization_failed);
    topics(g.topics);
  }
}

const char* authz_request::api_name() const {
  const char* name = proto::api_name(info.api_key);
  return name ? name : "?";
}

authorization refuse(std::string reason) {
  authorization a;
  a.what = authorization::action::refuse;
  a.reason = std::move(reason);
  return a;
}

void add_unknown_id(std::vector<proto::uuid>& unknown, const topic_names& names, const proto::uuid& id) {
  // A zero id names no topic (topic_names never learns it): answered UNKNOWN_TOPIC_ID at once.
  if (id == proto::uuid{} || names.name(id)) return;
  if (std::find(unknown.begin(), unknown.end(), id) == unknown.end()) unknown.push_back(id);
}

authorization lookup_ids(std::vector<proto::uuid> ids) {
  authorization a;
  a.what = authorization::action::lookup_topic_ids;
  a.unknown_topic_ids = std::move(ids);
  return a;
}

request_authorizer::request_authorizer(const policies::principal_acl& acl, topic_names& names, produce_check check,
                                       bool views_need_names)
    : acl_(acl), names_(names), check_(std::move(check)), views_need_names_(views_need_names) {}

bool request_authorizer::can_authorize(std::int16_t api_key) {
  return always_allowed(api_key) || handler_for(api_key) != nullptr;
}

authorization request_authorizer::authorize(const request_info& info, proto::bytes_view body, bool ids_looked_up) {
  const std::int16_t key = info.api_key;
  const bool acl_on = acl_.enabled();
  if (!acl_on) {
    // Nothing to authorize. Produce still goes through the validation check; Metadata v10+
    // answers carry topic ids that views need as names (Fetch v13+).
    if (key == api::metadata && info.api_version >= 10) {
      auto fixup = std::make_shared<response_fixup>();
      fixup->api_key = key;
      fixup->learn_ids = true;
      return forward_with(std::move(fixup));
    }
    // Fetch v13+ names topics by id; views need the names, so unknown ids are looked up.
    const bool fetch_ids = key == api::fetch && info.api_version >= 13 && views_need_names_ && !ids_looked_up;
    if (!fetch_ids && (key != api::produce || !check_)) return {};
  } else if (always_allowed(key)) {
    return {};
  }

  const handler h = handler_for(key);
  const proto::api_info* api = proto::find_api(key);
  if (!h || !api) {
    if (acl_.pass_through(key)) return {};
    return refuse(api_label(key) + " cannot be authorized by the gateway; allowlist it with pass_through_apis");
  }
  if (info.api_version < api->min_version || info.api_version > api->max_version) {
    // Relayed opaque by the inspector (no addresses in it), but its entries cannot be read.
    if (acl_on && acl_.pass_through(key)) return {};
    if (!acl_on) return {};  // validation only: a Produce version the gateway cannot decode was refused earlier
    return refuse(api_label(key) + " v" + std::to_string(info.api_version) +
                  " cannot be authorized by the gateway (it decodes v" + std::to_string(api->min_version) + "-" +
                  std::to_string(api->max_version) + "); allowlist it with pass_through_apis");
  }

  authz_request rq{info, body, acl_, names_, check_, ids_looked_up, {}, 1, proto::reader(body)};
  rq.header_version = proto::request_header_version(key, info.api_version);
  rq.header.decode(rq.r, rq.header_version);
  if (!rq.r.ok()) return refuse(std::string("malformed ") + api->name + " request header: " + rq.r.error().what);
  if (!acl_on && key == api::fetch) return lookup_fetch_topic_ids(rq);
  return h(rq);
}

rewrite_status request_authorizer::complete(const response_fixup& fixup, const response_context& ctx,
                                            proto::bytes_view body, proto::writer& out, std::string& error) {
  const authz_response rs{fixup, acl_, names_};
  switch (ctx.api_key) {
    case api::produce:
    case api::list_offsets:
    case api::metadata:
    case api::create_topics:
    case api::delete_topics:
    case api::delete_records:
    case api::offset_for_leader_epoch:
    case api::create_partitions:
    case api::describe_producers:
      return complete_topics_family(rs, ctx, body, out, error);
    case api::offset_commit:
    case api::offset_fetch:
    case api::find_coordinator:
    case api::describe_groups:
    case api::list_groups:
    case api::delete_groups:
    case api::offset_delete:
      return complete_groups_family(rs, ctx, body, out, error);
    case api::describe_configs:
    case api::alter_configs:
    case api::incremental_alter_configs:
    case api::txn_offset_commit:
    case api::describe_transactions:
    case api::list_transactions:
    case api::describe_cluster:
      return complete_admin_family(rs, ctx, body, out, error);
    default:
      return rewrite_status::unchanged;
  }
}

void request_authorizer::complete_fetch(const response_fixup* fixup, proto::fetch_response& response,
                                        std::int16_t version, bool& changed,
                                        const std::function<void(std::string_view topic)>& refused) {
  complete_fetch_response(fixup, acl_, names_, response, version, changed, refused);
}

}  // namespace kgw::gateway

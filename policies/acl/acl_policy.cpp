#include "policies/acl/acl_policy.h"

#include <algorithm>
#include <array>
#include <functional>

#include "policies/acl/acl_rules.h"
#include "policies/policy_set.h"
#include "protocol/fetch.h"

namespace kgw::policies {
namespace proto = kgw::protocol;

namespace {

namespace api = proto::api;

// Each API the gateway authorizes: its request half and, where the response needs to see what the
// request half did (entries to put back, lists to filter), its response half. Keys without a
// request half are refused with ACLs on (unless pass_through_apis lists them).
struct api_rule {
  request_rule request = nullptr;
  response_rule response = nullptr;
  bool every_response = false;  // the response half runs on every response, not only after a fixup
};

constexpr std::array<api_rule, 128> rules = [] {
  std::array<api_rule, 128> t{};
  t[api::produce] = {authorize_produce, complete_produce};
  t[api::fetch] = {authorize_fetch, complete_fetch, true};  // incremental sessions: every response
  t[api::list_offsets] = {authorize_list_offsets, complete_list_offsets};
  t[api::metadata] = {authorize_metadata, complete_metadata};
  t[api::offset_commit] = {authorize_offset_commit, complete_offset_commit};
  t[api::offset_fetch] = {authorize_offset_fetch, complete_offset_fetch};
  t[api::find_coordinator] = {authorize_find_coordinator, complete_find_coordinator};
  t[api::join_group] = {authorize_group_member};
  t[api::heartbeat] = {authorize_group_member};
  t[api::leave_group] = {authorize_group_member};
  t[api::sync_group] = {authorize_group_member};
  t[api::describe_groups] = {authorize_describe_groups, complete_describe_groups};
  t[api::list_groups] = {authorize_list_groups, complete_list_groups};
  t[api::create_topics] = {authorize_create_topics, complete_create_topics};
  t[api::delete_topics] = {authorize_delete_topics, complete_delete_topics};
  t[api::delete_records] = {authorize_delete_records, complete_delete_records};
  t[api::init_producer_id] = {authorize_init_producer_id};
  t[api::offset_for_leader_epoch] = {authorize_offset_for_leader_epoch, complete_offset_for_leader_epoch};
  t[api::add_partitions_to_txn] = {authorize_add_partitions_to_txn};
  t[api::add_offsets_to_txn] = {authorize_add_offsets_to_txn};
  t[api::end_txn] = {authorize_end_txn};
  t[api::txn_offset_commit] = {authorize_txn_offset_commit, complete_txn_offset_commit};
  t[api::describe_configs] = {authorize_configs, complete_describe_configs};
  t[api::alter_configs] = {authorize_configs, complete_alter_configs};
  t[api::incremental_alter_configs] = {authorize_configs, complete_incremental_alter_configs};
  t[api::create_partitions] = {authorize_create_partitions, complete_create_partitions};
  t[api::delete_groups] = {authorize_delete_groups, complete_delete_groups};
  t[api::offset_delete] = {authorize_offset_delete, complete_offset_delete};
  t[api::describe_cluster] = {authorize_describe_cluster, complete_describe_cluster};
  t[api::describe_producers] = {authorize_describe_producers, complete_describe_producers};
  t[api::describe_transactions] = {authorize_describe_transactions, complete_describe_transactions};
  t[api::list_transactions] = {authorize_list_transactions, complete_list_transactions};
  t[api::consumer_group_heartbeat] = {authorize_consumer_group_heartbeat};
  return t;
}();

const api_rule* rule_for(std::int16_t key) {
  if (key < 0 || static_cast<std::size_t>(key) >= rules.size() || !rules[static_cast<std::size_t>(key)].request)
    return nullptr;
  return &rules[static_cast<std::size_t>(key)];
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

static void for_each_denial(const response_fixup& fx,
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

request_verdict refuse(std::string reason) {
  request_verdict a;
  a.what = request_verdict::action::refuse;
  a.reason = std::move(reason);
  return a;
}

void add_unknown_id(std::vector<proto::uuid>& unknown, const topic_names& names, const proto::uuid& id) {
  // A zero id names no topic (topic_names never learns it): answered UNKNOWN_TOPIC_ID at once.
  if (id == proto::uuid{} || names.name(id)) return;
  if (std::find(unknown.begin(), unknown.end(), id) == unknown.end()) unknown.push_back(id);
}

request_verdict lookup_ids(std::vector<proto::uuid> ids) {
  request_verdict a;
  a.what = request_verdict::action::lookup_topic_ids;
  a.unknown_topic_ids = std::move(ids);
  return a;
}

namespace {

class acl_policy final : public policy {
 public:
  explicit acl_policy(std::shared_ptr<const principal_acl> acl) : acl_(std::move(acl)) {
    interest_.every_request = true;  // what cannot be authorized is refused, whatever its key
    for (std::size_t k = 0; k < rules.size(); ++k)
      if (rules[k].every_response) interest_.responses.set(k);
  }

  const char* name() const override { return "acls"; }
  interest wants() const override { return interest_; }

  request_verdict on_request(request_exchange& ex) const override {
    const std::int16_t key = ex.head.api_key;
    if (always_allowed(key)) return {};
    const api_rule* rule = rule_for(key);
    const proto::api_info* api = proto::find_api(key);
    if (!rule || !api) {
      if (acl_->pass_through(key)) return {};
      return refuse(api_label(key) + " cannot be authorized by the gateway; allowlist it with pass_through_apis");
    }
    if (ex.version() < api->min_version || ex.version() > api->max_version) {
      // Relayed opaque by the inspector (no addresses in it), but its entries cannot be read.
      if (acl_->pass_through(key)) return {};
      return refuse(api_label(key) + " v" + std::to_string(ex.version()) +
                    " cannot be authorized by the gateway (it decodes v" + std::to_string(api->min_version) + "-" +
                    std::to_string(api->max_version) + "); allowlist it with pass_through_apis");
    }
    if (!ex.header_ok()) return refuse(ex.header_error());
    authz_request rq(ex, *acl_);
    request_verdict v = rule->request(rq);
    // Reported once: asked again after a wait (another policy's), the same entries are denied.
    if (v.step && !ex.waited)
      for_each_denial(static_cast<const response_fixup&>(*v.step),
                      [&](std::string_view type, std::string_view name, std::int16_t error) {
                        const auto rt = resource_type_named(type);
                        if (!rt) return ex.denied(type, name, error);
                        const acl_operation op = operation_for(key, *rt);
                        ex.denied(type, name, error, name_of(op), acl_->denying_rule(op, *rt, name));
                      });
    return v;
  }

  std::expected<void, std::string> on_response(const response_step* step, response_exchange& ex) const override {
    const api_rule* rule = rule_for(ex.api_key);
    if (!rule || !rule->response || (!step && !rule->every_response)) return {};
    static const response_fixup no_fixup;
    const authz_response rs{step ? static_cast<const response_fixup&>(*step) : no_fixup, *acl_, ex.names, ex};
    return rule->response(rs);
  }

 private:
  std::shared_ptr<const principal_acl> acl_;
  interest interest_;
};

}  // namespace

std::shared_ptr<const policy> make_acl_policy(std::shared_ptr<const principal_acl> acl) {
  if (!acl || !acl->enabled()) return nullptr;
  return std::make_shared<acl_policy>(std::move(acl));
}

std::shared_ptr<const policy> compile_acl_policy(policy_set& snapshot, std::string_view principal) {
  return make_acl_policy(snapshot.acl(principal));
}

bool acl_can_authorize(std::int16_t api_key) { return always_allowed(api_key) || rule_for(api_key) != nullptr; }

bool acl_lists_api(const config::policy_config& policies, std::int16_t api_key) {
  const auto acls = policies.section<acl_section>();
  return !acls->enabled() || acl_can_authorize(api_key) || acls->passes_through(api_key);
}

}  // namespace kgw::policies

// The ACL policy (policies/acl/) run by the policy chain: Kafka-style ACL enforcement per API.
// Every case encodes a real request with the codec, runs it through the chain compiled for a
// policy built here, and decodes what comes out (the rewritten request, the local answer, or the
// completed response).
#include <catch2/catch.hpp>
#include <deque>

#include "config/gateway_config.h"
#include "config/policy_config.h"
#include "gateway/broker_registry.h"
#include "gateway/policy_chain.h"
#include "gateway/request_inspector.h"
#include "policies/acl/acl_policy.h"
#include "policies/acl/principal_acl.h"
#include "policies/policy_set.h"
#include "policies/validation/validation_policy.h"
#include "protocol/add_offsets_to_txn.h"
#include "protocol/add_partitions_to_txn.h"
#include "protocol/alter_configs.h"
#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/consumer_group_heartbeat.h"
#include "protocol/create_partitions.h"
#include "protocol/create_topics.h"
#include "protocol/delete_groups.h"
#include "protocol/delete_records.h"
#include "protocol/delete_topics.h"
#include "protocol/describe_cluster.h"
#include "protocol/describe_configs.h"
#include "protocol/describe_groups.h"
#include "protocol/describe_producers.h"
#include "protocol/describe_transactions.h"
#include "protocol/end_txn.h"
#include "protocol/fetch.h"
#include "protocol/find_coordinator.h"
#include "protocol/headers.h"
#include "protocol/heartbeat.h"
#include "protocol/incremental_alter_configs.h"
#include "protocol/init_producer_id.h"
#include "protocol/join_group.h"
#include "protocol/leave_group.h"
#include "protocol/list_groups.h"
#include "protocol/list_offsets.h"
#include "protocol/list_transactions.h"
#include "protocol/metadata.h"
#include "protocol/offset_commit.h"
#include "protocol/offset_delete.h"
#include "protocol/offset_fetch.h"
#include "protocol/offset_for_leader_epoch.h"
#include "protocol/produce.h"
#include "protocol/frames.h"
#include "protocol/sync_group.h"
#include "protocol/txn_offset_commit.h"
#include "tests/gateway/test_rewriter.h"

namespace proto = kgw::protocol;
namespace cfg = kgw::config;
using namespace kgw::gateway;

using op = kgw::policies::acl_operation;
using rt = kgw::policies::resource_type;

namespace {

constexpr std::int32_t corr = 4242;
constexpr std::int16_t topic_denied = 29, group_denied = 30, cluster_denied = 31, txn_denied = 53,
                       not_attempted = 55, invalid_record = 87, unknown_topic_id = 100;

cfg::resource_pattern lit(std::string s) { return {cfg::pattern_type::literal, std::move(s)}; }
cfg::resource_pattern pre(std::string s) { return {cfg::pattern_type::prefix, std::move(s)}; }

kgw::policies::acl_rule rule(std::string who, bool allow, std::vector<op> ops, rt type, std::vector<cfg::resource_pattern> res) {
  kgw::policies::acl_rule r;
  r.who.what = cfg::subject::kind::principals;
  r.who.names = {std::move(who)};
  r.allow = allow;
  r.operations = std::move(ops);
  r.type = type;
  r.resources = std::move(res);
  return r;
}

// alice may: read/write "orders"; describe "pub-*"; create/delete/alter/alter-configs "admin-t";
// read groups "app-*", delete group "app-old"; write transactional id "tx-ok". bob owns
// "secret", so ACLs are on and alice is denied everything else. with_cluster: alice also has
// Describe, Create, IdempotentWrite, DescribeConfigs and AlterConfigs on the cluster.
// The ACL rules of a configuration built in code.
std::vector<kgw::policies::acl_rule>& acls(cfg::policy_config& p) { return p.edit<kgw::policies::acl_section>().rules; }

cfg::policy_config standard_policy(bool with_cluster = false) {
  cfg::policy_config p;
  acls(p).push_back(rule("alice", true, {op::read, op::write}, rt::topic, {lit("orders")}));
  acls(p).push_back(rule("alice", true, {op::describe}, rt::topic, {pre("pub-")}));
  acls(p).push_back(rule("alice", true, {op::create, op::delete_, op::alter, op::alter_configs}, rt::topic, {lit("admin-t")}));
  acls(p).push_back(rule("alice", true, {op::read}, rt::group, {pre("app-")}));
  acls(p).push_back(rule("alice", true, {op::delete_}, rt::group, {lit("app-old")}));
  acls(p).push_back(rule("alice", true, {op::write}, rt::transactional_id, {lit("tx-ok")}));
  acls(p).push_back(rule("bob", true, {op::all}, rt::topic, {lit("secret")}));
  if (with_cluster)
    acls(p).push_back(rule("alice", true,
                          {op::describe, op::create, op::idempotent_write, op::describe_configs, op::alter_configs},
                          rt::cluster, {}));
  return p;
}

proto::uuid id_of(int n) {
  proto::uuid u{};
  u[15] = static_cast<std::byte>(n);
  u[0] = std::byte{0x11};
  return u;
}

// What the inspector would report for a request body (key, version, correlation id, acks).
request_info info_of(proto::bytes_view body, bool expects_response = true) {
  proto::reader r(body);
  request_info info;
  info.api_key = r.i16();
  info.api_version = r.i16();
  info.upstream_version = info.api_version;
  info.correlation_id = r.i32();
  info.expects_response = expects_response;
  return info;
}

// What the chain decided, as the tests look at it: a forwarded request that a policy rewrote is
// forward_rewritten; fixup is whatever the request left for its response.
struct authorization {
  enum class action { forward, forward_rewritten, answer, drop, refuse, lookup_topic_ids };
  action what = action::forward;
  proto::writer request;
  std::vector<std::byte> response;
  std::string reason;
  std::vector<proto::uuid> unknown_topic_ids;
  std::shared_ptr<const response_steps> fixup;
};
using action = authorization::action;

// A produce check in the shape the tests write them.
using produce_check =
    std::function<std::optional<std::string>(std::string_view topic, std::int32_t partition, proto::bytes_view records)>;

// The configuration around a test's policies. With ACLs off the chain still runs the view
// policy (a view on a topic no test uses), which needs topic names: ids are learnt and looked up.
cfg::gateway_config config_of(cfg::policy_config p) {
  cfg::gateway_config c;
  if (!p.section<kgw::policies::acl_section>()->enabled()) {
    kgw::policies::view_rule v;
    v.who.what = cfg::subject::kind::everyone;
    v.topics = {{cfg::pattern_type::literal, "unrelated-viewed-topic"}};
    p.edit<kgw::policies::view_section>().views.push_back(std::move(v));
  }
  c.policies = std::move(p);
  return c;
}

struct harness : kgw::gateway::testing::test_rewriter {
  kgw::policies::policy_set set;
  const cfg::policy_config& policies;
  const kgw::policies::principal_acl& acl;
  topic_names names;
  policy_chain authz;
  std::deque<std::vector<std::byte>> keep;  // decoded views point into these

  // The principal's chain from the registry, plus a validation policy around `check` if given.
  static std::shared_ptr<const kgw::policies::principal_policies> chain_of(kgw::policies::policy_set& set,
                                                                         produce_check check) {
    auto chain = std::make_shared<kgw::policies::principal_policies>(*set.chain("alice"));
    if (check)
      chain->add(kgw::policies::make_validation_policy(
          [check](std::string_view t, std::int32_t p, proto::bytes_view r,
                  const kgw::policies::decision_origin&) -> std::expected<void, std::string> {
            if (auto why = check(t, p, r)) return std::unexpected(*why);
            return {};
          }));
    return chain;
  }

  explicit harness(cfg::policy_config p = standard_policy(), produce_check check = {})
      : set(config_of(std::move(p))),
        policies(set.config()),
        acl(*set.acl("alice")),
        authz(chain_of(set, std::move(check)), "alice", names, {}) {}

  authorization decide(proto::bytes_view body, bool looked_up = false, bool expects_response = true) {
    chain_request c = authz.on_request(info_of(body, expects_response), body, looked_up);
    authorization a;
    a.what = static_cast<action>(static_cast<int>(c.what) + (c.what == chain_request::action::forward ? 0 : 1));
    if (c.rewritten) a.what = action::forward_rewritten;
    a.request = std::move(c.request);
    a.response = std::move(c.response);
    a.reason = std::move(c.reason);
    a.unknown_topic_ids = std::move(c.unknown_topic_ids);
    a.fixup = std::move(c.steps);
    return a;
  }

  template <class Req>
  authorization run(const Req& req, std::int16_t v, bool looked_up = false, bool expects_response = true) {
    auto& body = keep.emplace_back(proto::encode_request(req, v, corr, "client-1", false).flatten());
    return decide(body, looked_up, expects_response);
  }

  // A response as the broker would send it, through the chain. The chain also points the broker
  // addresses of a response it decoded at the gateway (as the session's rewriter would have): a
  // response the policies left as it was comes back `unchanged` even when its addresses moved,
  // so the tests see what the policies did.
  template <class Resp>
  std::pair<rewrite_status, std::vector<std::byte>*> through_chain(const authorization& a, const Resp& upstream,
                                                                   std::int16_t v) {
    proto::writer w;
    proto::response_header h;
    h.correlation_id = corr;
    h.encode(w, proto::response_header_version(Resp::api_key, v));
    upstream.encode(w, v);
    auto& body = keep.emplace_back(w.flatten());
    governed_response g;
    const auto st = authz.on_response(a.fixup.get(), {Resp::api_key, v, false}, body, rw, g);
    INFO((st ? std::string() : st.error()));
    REQUIRE(st);
    if (*st == rewrite_status::unchanged) return {*st, &body};
    auto& out = keep.emplace_back(g.w.flatten());
    proto::writer addresses_only;
    if (rw.rewrite({Resp::api_key, v, false}, body, addresses_only) == rewrite_status::rewritten &&
        addresses_only.flatten() == out)
      return {rewrite_status::unchanged, &out};
    return {*st, &out};
  }

  // A Fetch response through the chain, decoded back into `up`; changed: the chain rewrote it.
  void complete_fetch(const authorization& a, proto::fetch_response& up, std::int16_t v, bool& changed) {
    auto [st, body] = through_chain(a, up, v);
    changed = st == rewrite_status::rewritten;
    up = decode_response<proto::fetch_response>(*body, v);
  }

  // The rewritten request: same header, then the message.
  template <class Req>
  Req forwarded(const authorization& a, std::int16_t v) {
    REQUIRE(a.what == action::forward_rewritten);
    auto& body = keep.emplace_back(a.request.flatten());
    proto::reader r(body);
    proto::request_header h;
    h.decode(r, proto::request_header_version(Req::api_key, v));
    CHECK(h.request_api_key == Req::api_key);
    CHECK(h.request_api_version == v);
    CHECK(h.correlation_id == corr);
    CHECK(h.client_id == std::optional<std::string_view>("client-1"));
    Req m;
    m.decode(r, v);
    REQUIRE(r.ok());
    CHECK(r.remaining() == 0);
    return m;
  }

  template <class Resp>
  Resp decode_response(const std::vector<std::byte>& body, std::int16_t v) {
    proto::reader r(body);
    proto::response_header h;
    h.decode(r, proto::response_header_version(Resp::api_key, v));
    CHECK(h.correlation_id == corr);
    Resp m;
    m.decode(r, v);
    REQUIRE(r.ok());
    CHECK(r.remaining() == 0);
    return m;
  }

  // The local answer, decoded at the request's version.
  template <class Resp>
  Resp answered(const authorization& a, std::int16_t v) {
    REQUIRE(a.what == action::answer);
    return decode_response<Resp>(keep.emplace_back(a.response), v);
  }

  // The upstream answer passed through complete().
  template <class Resp>
  Resp completed(const authorization& a, const Resp& upstream, std::int16_t v, bool expect_change = true) {
    REQUIRE(a.fixup);
    auto [st, body] = through_chain(a, upstream, v);
    CHECK((st == rewrite_status::rewritten) == expect_change);
    return decode_response<Resp>(*body, v);
  }
};

// Finds the entry of `name` in a list of topics/groups (by member `name` or another field).
template <class V, class F>
auto find_in(V& v, F pred) -> decltype(&v[0]) {
  for (auto& x : v)
    if (pred(x)) return &x;
  return nullptr;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Produce

namespace {

std::vector<std::byte> records_of(char fill, std::size_t n = 300) { return std::vector<std::byte>(n, std::byte(fill)); }

proto::produce_request produce_of(std::vector<std::pair<std::string_view, std::vector<std::int32_t>>> topics,
                                  const std::vector<std::byte>& recs, std::int16_t acks = 1) {
  proto::produce_request p;
  p.acks = acks;
  p.timeout_ms = 1000;
  for (auto& [name, parts] : topics) {
    auto& t = p.topic_data.emplace_back();
    t.name = name;
    for (auto i : parts) t.partition_data.push_back({i, proto::bytes_view(recs), {}});
  }
  return p;
}

}  // namespace

TEST_CASE("Produce: allowed topics go through as received") {
  auto recs = records_of('a');
  for (std::int16_t v : {0, 7, 11}) {
    harness h;
    auto a = h.run(produce_of({{"orders", {0, 1}}}, recs), v);
    CHECK(a.what == action::forward);
    CHECK_FALSE(a.fixup);
  }
}

TEST_CASE("Produce: a denied topic alone is answered with TOPIC_AUTHORIZATION_FAILED per partition") {
  auto recs = records_of('a');
  for (std::int16_t v : {0, 7, 8, 11}) {
    INFO("v" << v);
    harness h;
    auto resp = h.answered<proto::produce_response>(h.run(produce_of({{"secret", {0, 2}}}, recs), v), v);
    REQUIRE(resp.responses.size() == 1);
    CHECK(resp.responses[0].name == "secret");
    REQUIRE(resp.responses[0].partition_responses.size() == 2);
    for (const auto& p : resp.responses[0].partition_responses) {
      CHECK(p.error_code == topic_denied);
      CHECK(p.base_offset == -1);
    }
    CHECK(resp.responses[0].partition_responses[1].index == 2);
    if (v >= 8) CHECK(resp.responses[0].partition_responses[0].error_message == "Topic authorization failed.");
    CHECK(resp.throttle_time_ms == 0);
  }
}

TEST_CASE("Produce: mixed request forwards the allowed topics (records borrowed) and completes the answer") {
  auto recs = records_of('r');
  for (std::int16_t v : {0, 7, 11}) {
    INFO("v" << v);
    harness h;
    auto a = h.run(produce_of({{"secret", {0}}, {"orders", {3}}}, recs), v);
    REQUIRE(a.what == action::forward_rewritten);
    CHECK(a.request.has_borrowed());  // the records are not copied
    auto req = h.forwarded<proto::produce_request>(a, v);
    REQUIRE(req.topic_data.size() == 1);
    CHECK(req.topic_data[0].name == "orders");
    REQUIRE(req.topic_data[0].partition_data.size() == 1);
    CHECK(req.topic_data[0].partition_data[0].index == 3);
    REQUIRE(req.topic_data[0].partition_data[0].records);
    CHECK(req.topic_data[0].partition_data[0].records->size() == recs.size());
    CHECK(std::equal(recs.begin(), recs.end(), req.topic_data[0].partition_data[0].records->begin()));

    proto::produce_response up;
    auto& t = up.responses.emplace_back();
    t.name = "orders";
    t.partition_responses.push_back({});
    t.partition_responses[0].index = 3;
    t.partition_responses[0].base_offset = 17;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.responses.size() == 2);
    auto* orders = find_in(resp.responses, [](auto& x) { return x.name == "orders"; });
    auto* secret = find_in(resp.responses, [](auto& x) { return x.name == "secret"; });
    REQUIRE(orders);
    REQUIRE(secret);
    CHECK(orders->partition_responses[0].base_offset == 17);
    CHECK(orders->partition_responses[0].error_code == 0);
    REQUIRE(secret->partition_responses.size() == 1);
    CHECK(secret->partition_responses[0].error_code == topic_denied);
  }
}

TEST_CASE("Produce: transactional id without Write fails every partition with 53") {
  auto recs = records_of('t');
  for (std::int16_t v : {3, 9, 11}) {
    harness h;
    auto req = produce_of({{"orders", {0}}, {"secret", {1}}}, recs);
    req.transactional_id = "tx-bad";
    auto resp = h.answered<proto::produce_response>(h.run(req, v), v);
    REQUIRE(resp.responses.size() == 2);
    for (const auto& t : resp.responses)
      for (const auto& p : t.partition_responses) CHECK(p.error_code == txn_denied);
    req.transactional_id = "tx-ok";
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::produce_request>(a, v);
    CHECK(fwd.transactional_id == std::optional<std::string_view>("tx-ok"));
    REQUIRE(fwd.topic_data.size() == 1);
    CHECK(fwd.topic_data[0].name == "orders");
  }
}

TEST_CASE("Produce acks=0: all denied is dropped, mixed forwards without a fixup") {
  auto recs = records_of('z');
  harness h;
  auto a = h.run(produce_of({{"secret", {0}}}, recs, 0), 9, false, false);
  CHECK(a.what == action::drop);
  a = h.run(produce_of({{"secret", {0}}, {"orders", {0}}}, recs, 0), 9, false, false);
  auto fwd = h.forwarded<proto::produce_request>(a, 9);
  CHECK(fwd.acks == 0);
  CHECK(fwd.topic_data.size() == 1);
  CHECK_FALSE(a.fixup);
}

TEST_CASE("Produce check: rejected partitions get INVALID_RECORD with the message, with and without ACLs") {
  auto good = records_of('g');
  auto bad = records_of('b');
  produce_check check = [&](std::string_view topic, std::int32_t partition, proto::bytes_view records)
      -> std::optional<std::string> {
    if (!records.empty() && records[0] == std::byte('b'))
      return "record 0 of " + std::string(topic) + "-" + std::to_string(partition) + " is not JSON";
    return std::nullopt;
  };
  for (bool acls : {true, false}) {
    for (std::int16_t v : {2, 8, 11}) {
      INFO("acls " << acls << " v" << v);
      harness h(acls ? standard_policy() : cfg::policy_config{}, check);
      auto req = produce_of({{"orders", {0}}}, good);
      req.topic_data[0].partition_data.push_back({1, proto::bytes_view(bad), {}});
      auto a = h.run(req, v);
      auto fwd = h.forwarded<proto::produce_request>(a, v);
      REQUIRE(fwd.topic_data.size() == 1);
      REQUIRE(fwd.topic_data[0].partition_data.size() == 1);
      CHECK(fwd.topic_data[0].partition_data[0].index == 0);

      proto::produce_response up;
      up.responses.emplace_back().name = "orders";
      up.responses[0].partition_responses.push_back({});
      auto resp = h.completed(a, up, v);
      REQUIRE(resp.responses.size() == 1);
      REQUIRE(resp.responses[0].partition_responses.size() == 2);
      const auto& p = resp.responses[0].partition_responses[1];
      CHECK(p.index == 1);
      CHECK(p.error_code == invalid_record);
      if (v >= 8) {
        CHECK(p.error_message == std::optional<std::string_view>("record 0 of orders-1 is not JSON"));
        REQUIRE(p.record_errors.size() == 1);
        CHECK(p.record_errors[0].batch_index_error_message ==
              std::optional<std::string_view>("record 0 of orders-1 is not JSON"));
      }
      // Every partition rejected: answered here.
      auto only_bad = produce_of({{"orders", {5}}}, bad);
      auto ans = h.answered<proto::produce_response>(h.run(only_bad, v), v);
      CHECK(ans.responses.at(0).partition_responses.at(0).error_code == invalid_record);
      // Nothing rejected: untouched.
      CHECK(h.run(produce_of({{"orders", {0}}}, good), v).what == action::forward);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Fetch

namespace {

proto::fetch_request fetch_of(std::vector<std::pair<std::string_view, std::vector<std::int32_t>>> topics,
                              std::int16_t v, harness& h) {
  proto::fetch_request f;
  f.max_wait_ms = 500;
  f.min_bytes = 1;
  for (auto& [name, parts] : topics) {
    auto& t = f.topics.emplace_back();
    t.topic = name;
    if (v >= 13) {
      // ids: "orders" 1, "secret" 2, "pub-a" 3, anything else 9 (unknown unless learnt)
      t.topic_id = name == "orders" ? id_of(1) : name == "secret" ? id_of(2) : name == "pub-a" ? id_of(3) : id_of(9);
    }
    for (auto p : parts) {
      auto& fp = t.partitions.emplace_back();
      fp.partition = p;
      fp.fetch_offset = 10;
      fp.partition_max_bytes = 1 << 20;
    }
  }
  h.names.learn(id_of(1), "orders");
  h.names.learn(id_of(2), "secret");
  h.names.learn(id_of(3), "pub-a");
  return f;
}

}  // namespace

TEST_CASE("Fetch: allowed, denied and mixed by name and by id") {
  for (std::int16_t v : {0, 4, 12, 13, 17}) {
    INFO("v" << v);
    harness h;
    CHECK(h.run(fetch_of({{"orders", {0, 1}}}, v, h), v).what == action::forward);

    auto denied = h.answered<proto::fetch_response>(h.run(fetch_of({{"secret", {0, 1}}}, v, h), v), v);
    REQUIRE(denied.responses.size() == 1);
    if (v >= 13)
      CHECK(denied.responses[0].topic_id == id_of(2));
    else
      CHECK(denied.responses[0].topic == "secret");
    REQUIRE(denied.responses[0].partitions.size() == 2);
    CHECK(denied.responses[0].partitions[1].partition_index == 1);
    CHECK(denied.responses[0].partitions[0].error_code == topic_denied);
    CHECK(denied.responses[0].partitions[0].high_watermark == -1);
    REQUIRE(denied.responses[0].partitions[0].records);
    CHECK(denied.responses[0].partitions[0].records->empty());

    // pub-a has Describe only: Fetch needs Read.
    auto a = h.run(fetch_of({{"orders", {0}}, {"pub-a", {4}}}, v, h), v);
    auto fwd = h.forwarded<proto::fetch_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    if (v >= 13)
      CHECK(fwd.topics[0].topic_id == id_of(1));
    else
      CHECK(fwd.topics[0].topic == "orders");
    CHECK(fwd.max_wait_ms == 500);
    CHECK(fwd.topics[0].partitions.at(0).fetch_offset == 10);

    proto::fetch_response up;
    auto& t = up.responses.emplace_back();
    t.topic = "orders";
    t.topic_id = id_of(1);
    t.partitions.push_back({});
    t.partitions[0].high_watermark = 99;
    bool changed = false;
    h.complete_fetch(a, up, v, changed);
    CHECK(changed);
    REQUIRE(up.responses.size() == 2);
    CHECK(up.responses[0].partitions[0].high_watermark == 99);
    CHECK(up.responses[1].partitions.at(0).partition_index == 4);
    CHECK(up.responses[1].partitions.at(0).error_code == topic_denied);
    if (v >= 13)
      CHECK(up.responses[1].topic_id == id_of(3));
    else
      CHECK(up.responses[1].topic == "pub-a");
  }
}

TEST_CASE("Fetch v13+: unknown topic ids are looked up first, then answered UNKNOWN_TOPIC_ID") {
  for (std::int16_t v : {13, 15, 17}) {
    harness h;
    auto req = fetch_of({{"mystery", {0}}, {"orders", {1}}}, v, h);
    auto a = h.run(req, v);
    REQUIRE(a.what == action::lookup_topic_ids);
    REQUIRE(a.unknown_topic_ids.size() == 1);
    CHECK(a.unknown_topic_ids[0] == id_of(9));

    // The session's lookup found nothing: second call.
    a = h.run(req, v, true);
    auto fwd = h.forwarded<proto::fetch_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    CHECK(fwd.topics[0].topic_id == id_of(1));
    proto::fetch_response up;
    bool changed = false;
    h.complete_fetch(a, up, v, changed);
    REQUIRE(up.responses.size() == 1);
    CHECK(up.responses[0].topic_id == id_of(9));
    CHECK(up.responses[0].partitions.at(0).error_code == unknown_topic_id);

    // A zero id names no topic: no lookup, UNKNOWN_TOPIC_ID at once.
    auto zero = fetch_of({{"orders", {0}}}, v, h);
    zero.topics[0].topic_id = proto::uuid{};
    auto z = h.answered<proto::fetch_response>(h.run(zero, v), v);
    CHECK(z.responses.at(0).partitions.at(0).error_code == unknown_topic_id);

    // The lookup learnt the name: authorized like any other topic.
    harness h2;
    auto req2 = fetch_of({{"mystery", {0}}}, v, h2);
    CHECK(h2.run(req2, v).what == action::lookup_topic_ids);
    h2.names.learn(id_of(9), "orders-archive");  // not readable by alice
    auto ans = h2.answered<proto::fetch_response>(h2.run(req2, v, true), v);
    CHECK(ans.responses.at(0).partitions.at(0).error_code == topic_denied);
  }
}

TEST_CASE("Fetch: follower fetches need ClusterAction") {
  for (std::int16_t v : {4, 14, 15, 17}) {
    harness h;
    auto req = fetch_of({{"orders", {0}}}, v, h);
    if (v <= 14)
      req.replica_id = 1;
    else
      req.replica_state.replica_id = 1;
    auto resp = h.answered<proto::fetch_response>(h.run(req, v), v);
    if (v >= 7) CHECK(resp.error_code == cluster_denied);
    CHECK(resp.responses.at(0).partitions.at(0).error_code == cluster_denied);
  }
}

TEST_CASE("Fetch: forgotten topics always go through, incremental sessions are forwarded") {
  for (std::int16_t v : {7, 12, 13}) {
    harness h;
    auto req = fetch_of({{"secret", {0}}, {"orders", {0}}}, v, h);
    req.session_id = 77;
    req.session_epoch = 3;
    auto& forgot = req.forgotten_topics_data.emplace_back();
    forgot.topic = "secret";
    forgot.topic_id = id_of(2);
    forgot.partitions = {5};
    auto fwd = h.forwarded<proto::fetch_request>(h.run(req, v), v);
    CHECK(fwd.topics.size() == 1);
    REQUIRE(fwd.forgotten_topics_data.size() == 1);
    CHECK(fwd.forgotten_topics_data[0].partitions == std::vector<std::int32_t>{5});

    // Only denied topics, but the session must move on: forwarded with no topics.
    req.topics.erase(req.topics.begin() + 1);
    auto a = h.run(req, v);
    auto fwd2 = h.forwarded<proto::fetch_request>(a, v);
    CHECK(fwd2.topics.empty());
    CHECK(fwd2.session_id == 77);
    CHECK(fwd2.session_epoch == 3);
    REQUIRE(a.fixup);
  }
}

TEST_CASE("Fetch: complete_fetch scrubs partitions of unreadable topics an incremental session returns") {
  for (std::int16_t v : {7, 12, 13, 17}) {
    INFO("v" << v);
    harness h;
    h.names.learn(id_of(1), "orders");
    h.names.learn(id_of(2), "secret");
    auto recs = records_of('x', 64);
    proto::fetch_response up;
    up.session_id = 77;
    for (int i : {1, 2}) {
      auto& t = up.responses.emplace_back();
      t.topic = i == 1 ? "orders" : "secret";
      t.topic_id = id_of(i);
      auto& p = t.partitions.emplace_back();
      p.partition_index = 0;
      p.high_watermark = 50;
      p.records = proto::bytes_view(recs);
    }
    bool changed = false;
    h.complete_fetch({}, up, v, changed);
    CHECK(changed);
    CHECK(up.responses[0].partitions[0].records->size() == recs.size());
    CHECK(up.responses[0].partitions[0].high_watermark == 50);
    CHECK(up.responses[1].partitions[0].error_code == topic_denied);
    CHECK(up.responses[1].partitions[0].records->empty());
    CHECK(up.responses[1].partitions[0].high_watermark == -1);
    // A second pass finds nothing to change.
    changed = false;
    h.complete_fetch({}, up, v, changed);
    CHECK_FALSE(changed);
  }
}

// ------------------------------------------------------------------------------------------------
// ListOffsets, OffsetForLeaderEpoch

TEST_CASE("ListOffsets: Describe on the topic") {
  for (std::int16_t v : {0, 5, 10}) {
    INFO("v" << v);
    harness h;
    proto::list_offsets_request req;
    req.replica_id = -1;
    for (auto name : {"pub-x", "secret"}) {
      auto& t = req.topics.emplace_back();
      t.name = name;
      t.partitions.push_back({});
      t.partitions[0].partition_index = 2;
      t.partitions[0].timestamp = -1;
    }
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::list_offsets_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    CHECK(fwd.topics[0].name == "pub-x");
    proto::list_offsets_response up;
    up.topics.emplace_back().name = "pub-x";
    up.topics[0].partitions.push_back({});
    up.topics[0].partitions[0].offset = 5;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[1].name == "secret");
    CHECK(resp.topics[1].partitions.at(0).partition_index == 2);
    CHECK(resp.topics[1].partitions.at(0).error_code == topic_denied);

    req.topics.erase(req.topics.begin());
    auto ans = h.answered<proto::list_offsets_response>(h.run(req, v), v);
    CHECK(ans.topics.at(0).partitions.at(0).error_code == topic_denied);
    req.topics[0].name = "orders";
    CHECK(h.run(req, v).what == action::forward);
  }
}

TEST_CASE("OffsetForLeaderEpoch: Describe on the topic (consumers use it)") {
  for (std::int16_t v : {0, 3, 4}) {
    INFO("v" << v);
    harness h;
    proto::offset_for_leader_epoch_request req;
    req.replica_id = -1;
    for (auto name : {"orders", "secret"}) {
      auto& t = req.topics.emplace_back();
      t.topic = name;
      t.partitions.push_back({});
      t.partitions[0].partition = 1;
      t.partitions[0].leader_epoch = 4;
    }
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::offset_for_leader_epoch_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    CHECK(fwd.topics[0].topic == "orders");
    proto::offset_for_leader_epoch_response up;
    up.topics.emplace_back().topic = "orders";
    up.topics[0].partitions.push_back({});
    up.topics[0].partitions[0].partition = 1;
    up.topics[0].partitions[0].end_offset = 900;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[1].topic == "secret");
    CHECK(resp.topics[1].partitions.at(0).error_code == topic_denied);
    CHECK(resp.topics[1].partitions.at(0).end_offset == -1);

    req.topics.erase(req.topics.begin() + 1);
    CHECK(h.run(req, v).what == action::forward);
    req.topics[0].topic = "secret";
    auto ans = h.answered<proto::offset_for_leader_epoch_response>(h.run(req, v), v);
    CHECK(ans.topics.at(0).partitions.at(0).error_code == topic_denied);
  }
}

// ------------------------------------------------------------------------------------------------
// Metadata

namespace {

proto::metadata_response metadata_answer(std::int16_t v, std::vector<std::pair<std::string_view, int>> topics) {
  proto::metadata_response m;
  m.brokers.push_back({});
  m.brokers[0].node_id = 1;
  m.brokers[0].host = "gw";
  m.brokers[0].port = 9092;
  for (auto& [name, id] : topics) {
    auto& t = m.topics.emplace_back();
    t.name = name;
    if (v >= 10) t.topic_id = id_of(id);
    t.partitions.push_back({});
  }
  return m;
}

std::vector<std::string> topic_names_of(const proto::metadata_response& m) {
  std::vector<std::string> out;
  for (const auto& t : m.topics) out.emplace_back(t.name ? std::string(*t.name) : "<null>");
  return out;
}

}  // namespace

TEST_CASE("Metadata: an all-topics answer keeps only describable topics") {
  for (std::int16_t v : {0, 1, 4, 9, 12}) {
    INFO("v" << v);
    harness h;
    proto::metadata_request req;
    if (v == 0)
      req.topics.emplace();  // empty list = all topics at v0
    else
      req.topics.reset();
    auto a = h.run(req, v);
    CHECK(a.what == action::forward);
    auto resp = h.completed(a, metadata_answer(v, {{"orders", 1}, {"secret", 2}, {"pub-a", 3}, {"__consumer_offsets", 4}}), v);
    CHECK(topic_names_of(resp) == std::vector<std::string>{"orders", "pub-a"});
    CHECK(resp.brokers.size() == 1);
  }
}

TEST_CASE("Metadata: explicitly requested topics without Describe are answered 29 by the gateway") {
  for (std::int16_t v : {1, 4, 9, 12}) {
    INFO("v" << v);
    harness h;
    proto::metadata_request req;
    req.topics.emplace();
    for (auto name : {"orders", "secret"}) req.topics->push_back({{}, name, {}});
    req.allow_auto_topic_creation = false;
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::metadata_request>(a, v);
    REQUIRE(fwd.topics);
    REQUIRE(fwd.topics->size() == 1);
    CHECK((*fwd.topics)[0].name == std::optional<std::string_view>("orders"));
    auto resp = h.completed(a, metadata_answer(v, {{"orders", 1}}), v);
    CHECK(topic_names_of(resp) == std::vector<std::string>{"orders", "secret"});
    CHECK(resp.topics[1].error_code == topic_denied);
    CHECK(resp.topics[1].partitions.empty());
    CHECK(resp.topics[0].error_code == 0);
  }
}

TEST_CASE("Metadata v0: named topics all denied still fetch brokers, without the topics") {
  harness h;
  proto::metadata_request req;
  req.topics.emplace();
  req.topics->push_back({{}, "secret", {}});
  auto a = h.run(req, 0);
  auto fwd = h.forwarded<proto::metadata_request>(a, 0);
  CHECK(fwd.topics->empty());
  auto resp = h.completed(a, metadata_answer(0, {{"orders", 1}, {"secret", 2}}), 0);
  CHECK(topic_names_of(resp) == std::vector<std::string>{"secret"});
  CHECK(resp.topics[0].error_code == topic_denied);
  CHECK(resp.brokers.size() == 1);
}

TEST_CASE("Metadata: auto topic creation needs Create on the topic or the cluster") {
  for (std::int16_t v : {4, 9, 12}) {
    proto::metadata_request req;
    req.topics.emplace();
    req.topics->push_back({{}, "orders", {}});
    req.allow_auto_topic_creation = true;
    harness h;
    auto fwd = h.forwarded<proto::metadata_request>(h.run(req, v), v);
    CHECK_FALSE(fwd.allow_auto_topic_creation);
    (*req.topics)[0].name = "admin-t";  // Create on the topic
    CHECK(h.run(req, v).what == action::forward);
    harness hc(standard_policy(true));  // Create on the cluster
    (*req.topics)[0].name = "orders";
    CHECK(hc.run(req, v).what == action::forward);
  }
}

TEST_CASE("Metadata: authorized operations are the principal's") {
  for (std::int16_t v : {8, 10, 12}) {
    INFO("v" << v);
    harness h(standard_policy(true));
    proto::metadata_request req;
    req.topics.reset();
    req.include_topic_authorized_operations = true;
    req.include_cluster_authorized_operations = v <= 10;
    auto a = h.run(req, v);
    auto up = metadata_answer(v, {{"orders", 1}, {"admin-t", 5}});
    up.topics[0].topic_authorized_operations = 0x7fff;  // the broker's answer for the gateway's account
    up.cluster_authorized_operations = 0x7fff;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[0].topic_authorized_operations == h.acl.authorized_operations(rt::topic, "orders"));
    CHECK(resp.topics[0].topic_authorized_operations == ((1 << 3) | (1 << 4) | (1 << 8)));  // Read Write Describe
    CHECK(resp.topics[1].topic_authorized_operations == h.acl.authorized_operations(rt::topic, "admin-t"));
    if (v <= 10) CHECK(resp.cluster_authorized_operations == h.acl.authorized_operations(rt::cluster, "kafka-cluster"));
  }
}

TEST_CASE("Metadata v10+: topic ids are learnt from every answer, ACLs or not") {
  for (bool acls : {true, false}) {
    harness h(acls ? standard_policy() : cfg::policy_config{});
    proto::metadata_request req;
    req.topics.reset();
    auto a = h.run(req, 12);
    REQUIRE(a.fixup);
    h.completed(a, metadata_answer(12, {{"orders", 1}, {"secret", 2}}), 12, acls);
    REQUIRE(h.names.name(id_of(1)));
    CHECK(*h.names.name(id_of(1)) == "orders");
    REQUIRE(h.names.name(id_of(2)));  // learnt even though alice does not see it
    CHECK(*h.names.name(id_of(2)) == "secret");
    // Below v10 there are no ids: nothing to learn, nothing decoded with ACLs off.
    if (!acls) CHECK(h.run(req, 9).what == action::forward);
    if (!acls) CHECK_FALSE(h.run(req, 9).fixup);
  }
}

TEST_CASE("Metadata v12: topics asked by id: lookup, deny without the name, unknown") {
  harness h;
  proto::metadata_request req;
  req.topics.emplace();
  req.topics->push_back({id_of(2), std::nullopt, {}});
  req.topics->push_back({id_of(9), std::nullopt, {}});
  req.allow_auto_topic_creation = false;
  h.names.learn(id_of(2), "secret");
  auto a = h.run(req, 12);
  REQUIRE(a.what == action::lookup_topic_ids);
  CHECK(a.unknown_topic_ids == std::vector<proto::uuid>{id_of(9)});
  a = h.run(req, 12, true);
  auto fwd = h.forwarded<proto::metadata_request>(a, 12);
  CHECK(fwd.topics->empty());
  auto resp = h.completed(a, metadata_answer(12, {}), 12);
  REQUIRE(resp.topics.size() == 2);
  CHECK(resp.topics[0].error_code == topic_denied);
  CHECK_FALSE(resp.topics[0].name);  // not revealed
  CHECK(resp.topics[0].topic_id == id_of(2));
  CHECK(resp.topics[1].error_code == unknown_topic_id);
  CHECK(resp.topics[1].topic_id == id_of(9));
}

// ------------------------------------------------------------------------------------------------
// OffsetCommit, OffsetFetch, OffsetDelete

namespace {

proto::offset_commit_request commit_of(std::string_view group, std::vector<std::string_view> topics) {
  proto::offset_commit_request c;
  c.group_id = group;
  c.member_id = "m-1";
  for (auto name : topics) {
    auto& t = c.topics.emplace_back();
    t.name = name;
    t.partitions.push_back({});
    t.partitions[0].partition_index = 7;
    t.partitions[0].committed_offset = 100;
  }
  return c;
}

}  // namespace

TEST_CASE("OffsetCommit: Read on the group, then Read on each topic") {
  for (std::int16_t v : {0, 5, 9}) {
    INFO("v" << v);
    harness h;
    CHECK(h.run(commit_of("app-1", {"orders"}), v).what == action::forward);

    auto denied = h.answered<proto::offset_commit_response>(h.run(commit_of("other", {"orders", "pub-a"}), v), v);
    REQUIRE(denied.topics.size() == 2);
    for (const auto& t : denied.topics) CHECK(t.partitions.at(0).error_code == group_denied);
    auto empty = h.answered<proto::offset_commit_response>(h.run(commit_of("other", {}), v), v);
    CHECK(empty.topics.empty());

    auto a = h.run(commit_of("app-1", {"orders", "pub-a"}), v);  // pub-a: Describe only
    auto fwd = h.forwarded<proto::offset_commit_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    CHECK(fwd.topics[0].name == "orders");
    CHECK(fwd.group_id == "app-1");
    proto::offset_commit_response up;
    up.topics.emplace_back().name = "orders";
    up.topics[0].partitions.push_back({7, 0, {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[1].name == "pub-a");
    CHECK(resp.topics[1].partitions.at(0).partition_index == 7);
    CHECK(resp.topics[1].partitions.at(0).error_code == topic_denied);
  }
}

TEST_CASE("OffsetFetch v0-7: one group") {
  for (std::int16_t v : {1, 2, 5, 7}) {
    INFO("v" << v);
    harness h;
    proto::offset_fetch_request req;
    req.group_id = "app-1";
    req.topics.emplace();
    for (auto name : {"orders", "secret"}) req.topics->push_back({name, {0, 1}, {}});
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::offset_fetch_request>(a, v);
    REQUIRE(fwd.topics->size() == 1);
    CHECK((*fwd.topics)[0].name == "orders");
    proto::offset_fetch_response up;
    up.topics.emplace_back().name = "orders";
    up.topics[0].partitions.push_back({});
    up.topics[0].partitions[0].committed_offset = 42;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[0].partitions[0].committed_offset == 42);
    REQUIRE(resp.topics[1].partitions.size() == 2);
    CHECK(resp.topics[1].partitions[1].partition_index == 1);
    CHECK(resp.topics[1].partitions[1].error_code == topic_denied);
    CHECK(resp.topics[1].partitions[1].committed_offset == -1);

    // Group without Describe: v0-1 per partition, v2+ top-level.
    req.group_id = "other";
    auto denied = h.answered<proto::offset_fetch_response>(h.run(req, v), v);
    if (v < 2) {
      REQUIRE(denied.topics.size() == 2);
      CHECK(denied.topics[0].partitions.at(0).error_code == group_denied);
    } else {
      CHECK(denied.error_code == group_denied);
      CHECK(denied.topics.empty());
    }

    if (v >= 2) {  // all topics (null): the answer is filtered
      req.group_id = "app-1";
      req.topics.reset();
      auto all = h.run(req, v);
      CHECK(all.what == action::forward);
      proto::offset_fetch_response up2;
      for (auto name : {"orders", "secret", "pub-b"}) up2.topics.push_back({name, {{}}, {}});
      auto filtered = h.completed(all, up2, v);
      REQUIRE(filtered.topics.size() == 2);
      CHECK(filtered.topics[0].name == "orders");
      CHECK(filtered.topics[1].name == "pub-b");
    }
  }
}

TEST_CASE("OffsetFetch v8+: groups are authorized one by one") {
  for (std::int16_t v : {8, 9}) {
    INFO("v" << v);
    harness h;
    proto::offset_fetch_request req;
    auto& g1 = req.groups.emplace_back();  // allowed, one topic denied
    g1.group_id = "app-1";
    g1.topics.emplace();
    g1.topics->push_back({"orders", {0}, {}});
    g1.topics->push_back({"secret", {3}, {}});
    auto& g2 = req.groups.emplace_back();  // denied group
    g2.group_id = "nope";
    g2.topics.reset();
    auto& g3 = req.groups.emplace_back();  // all topics
    g3.group_id = "app-2";
    g3.topics.reset();
    auto& g4 = req.groups.emplace_back();  // every listed topic denied: not forwarded
    g4.group_id = "app-3";
    g4.topics.emplace();
    g4.topics->push_back({"secret", {1}, {}});
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::offset_fetch_request>(a, v);
    REQUIRE(fwd.groups.size() == 2);
    CHECK(fwd.groups[0].group_id == "app-1");
    CHECK(fwd.groups[0].topics->size() == 1);
    CHECK(fwd.groups[1].group_id == "app-2");
    CHECK_FALSE(fwd.groups[1].topics);

    proto::offset_fetch_response up;
    auto& r1 = up.groups.emplace_back();
    r1.group_id = "app-1";
    r1.topics.push_back({"orders", {{}}, {}});
    auto& r3 = up.groups.emplace_back();
    r3.group_id = "app-2";
    r3.topics.push_back({"secret", {{}}, {}});
    r3.topics.push_back({"pub-c", {{}}, {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.groups.size() == 4);
    auto* app1 = find_in(resp.groups, [](auto& g) { return g.group_id == "app-1"; });
    auto* app2 = find_in(resp.groups, [](auto& g) { return g.group_id == "app-2"; });
    auto* app3 = find_in(resp.groups, [](auto& g) { return g.group_id == "app-3"; });
    auto* nope = find_in(resp.groups, [](auto& g) { return g.group_id == "nope"; });
    REQUIRE((app1 && app2 && app3 && nope));
    REQUIRE(app1->topics.size() == 2);
    CHECK(app1->topics[1].partitions.at(0).error_code == topic_denied);
    REQUIRE(app2->topics.size() == 1);
    CHECK(app2->topics[0].name == "pub-c");
    CHECK(app3->error_code == 0);
    CHECK(app3->topics.at(0).partitions.at(0).error_code == topic_denied);
    CHECK(nope->error_code == group_denied);

    proto::offset_fetch_request only_denied;
    only_denied.groups.push_back({});
    only_denied.groups[0].group_id = "nope";
    auto ans = h.answered<proto::offset_fetch_response>(h.run(only_denied, v), v);
    REQUIRE(ans.groups.size() == 1);
    CHECK(ans.groups[0].error_code == group_denied);
  }
}

TEST_CASE("OffsetDelete: Delete on the group, Read on the topics") {
  harness h;
  proto::offset_delete_request req;
  req.group_id = "app-old";
  for (auto name : {"orders", "pub-a"}) req.topics.push_back({name, {{2}}});
  auto a = h.run(req, 0);
  auto fwd = h.forwarded<proto::offset_delete_request>(a, 0);
  REQUIRE(fwd.topics.size() == 1);
  CHECK(fwd.topics[0].name == "orders");
  proto::offset_delete_response up;
  up.topics.push_back({"orders", {{2, 0}}});
  auto resp = h.completed(a, up, 0);
  REQUIRE(resp.topics.size() == 2);
  CHECK(resp.topics[1].partitions.at(0).error_code == topic_denied);

  req.group_id = "app-1";  // Read only, no Delete
  auto denied = h.answered<proto::offset_delete_response>(h.run(req, 0), 0);
  CHECK(denied.error_code == group_denied);
  req.group_id = "app-old";
  req.topics.erase(req.topics.begin() + 1);
  CHECK(h.run(req, 0).what == action::forward);
}

// ------------------------------------------------------------------------------------------------
// FindCoordinator and the group membership APIs

TEST_CASE("FindCoordinator: groups need Describe, transactional ids too") {
  for (std::int16_t v : {0, 1, 3}) {
    INFO("v" << v);
    harness h;
    proto::find_coordinator_request req;
    req.key = "app-9";
    CHECK(h.run(req, v).what == action::forward);
    req.key = "other";
    auto resp = h.answered<proto::find_coordinator_response>(h.run(req, v), v);
    CHECK(resp.error_code == group_denied);
    CHECK(resp.node_id == -1);
    if (v >= 1) {
      CHECK(resp.error_message == std::optional<std::string_view>("Group authorization failed."));
      req.key_type = 1;
      req.key = "tx-ok";
      CHECK(h.run(req, v).what == action::forward);
      req.key = "tx-bad";
      auto t = h.answered<proto::find_coordinator_response>(h.run(req, v), v);
      CHECK(t.error_code == txn_denied);
    }
  }
  for (std::int16_t v : {4, 6}) {
    INFO("v" << v);
    harness h;
    proto::find_coordinator_request req;
    req.coordinator_keys = {"app-1", "other", "app-2"};
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::find_coordinator_request>(a, v);
    CHECK(fwd.coordinator_keys == std::vector<std::string_view>{"app-1", "app-2"});
    proto::find_coordinator_response up;
    for (auto k : {"app-1", "app-2"}) {
      auto& c = up.coordinators.emplace_back();
      c.key = k;
      c.node_id = 1;
      c.host = "gw";
      c.port = 9092;
    }
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.coordinators.size() == 3);
    CHECK(resp.coordinators[2].key == "other");
    CHECK(resp.coordinators[2].error_code == group_denied);
    CHECK(resp.coordinators[2].node_id == -1);

    req.coordinator_keys = {"other"};
    auto ans = h.answered<proto::find_coordinator_response>(h.run(req, v), v);
    CHECK(ans.coordinators.at(0).error_code == group_denied);
  }
}

TEST_CASE("JoinGroup, Heartbeat, LeaveGroup, SyncGroup: Read on the group") {
  for (std::int16_t v : {0, 6, 9}) {
    harness h;
    proto::join_group_request j;
    j.group_id = "app-1";
    j.member_id = "m-1";
    j.protocol_type = "consumer";
    CHECK(h.run(j, v).what == action::forward);
    j.group_id = "pub-a";
    auto resp = h.answered<proto::join_group_response>(h.run(j, v), v);
    CHECK(resp.error_code == group_denied);
    CHECK(resp.generation_id == -1);
    CHECK(resp.member_id == "m-1");
  }
  for (std::int16_t v : {0, 2, 4}) {
    harness h;
    proto::heartbeat_request hb;
    hb.group_id = "app-1";
    CHECK(h.run(hb, v).what == action::forward);
    hb.group_id = "x";
    CHECK(h.answered<proto::heartbeat_response>(h.run(hb, v), v).error_code == group_denied);
  }
  for (std::int16_t v : {0, 3, 5}) {
    harness h;
    proto::leave_group_request l;
    l.group_id = "app-1";
    CHECK(h.run(l, v).what == action::forward);
    l.group_id = "x";
    CHECK(h.answered<proto::leave_group_response>(h.run(l, v), v).error_code == group_denied);
  }
  for (std::int16_t v : {0, 3, 5}) {
    harness h;
    proto::sync_group_request s;
    s.group_id = "app-1";
    CHECK(h.run(s, v).what == action::forward);
    s.group_id = "x";
    CHECK(h.answered<proto::sync_group_response>(h.run(s, v), v).error_code == group_denied);
  }
}

TEST_CASE("ConsumerGroupHeartbeat: Read on the group, Describe on subscribed topics") {
  for (std::int16_t v : {0, 1}) {
    harness h;
    proto::consumer_group_heartbeat_request req;
    req.group_id = "app-1";
    req.subscribed_topic_names = std::vector<std::string_view>{"orders", "pub-a"};
    CHECK(h.run(req, v).what == action::forward);
    req.subscribed_topic_names->push_back("secret");
    auto t = h.answered<proto::consumer_group_heartbeat_response>(h.run(req, v), v);
    CHECK(t.error_code == topic_denied);
    req.group_id = "x";
    auto g = h.answered<proto::consumer_group_heartbeat_response>(h.run(req, v), v);
    CHECK(g.error_code == group_denied);
    CHECK(g.error_message == std::optional<std::string_view>("Group authorization failed."));
  }
}

// ------------------------------------------------------------------------------------------------
// DescribeGroups, ListGroups, DeleteGroups

TEST_CASE("DescribeGroups: per group, and the principal's authorized operations") {
  for (std::int16_t v : {0, 3, 5}) {
    INFO("v" << v);
    harness h;
    proto::describe_groups_request req;
    req.groups = {"app-1", "other"};
    req.include_authorized_operations = v >= 3;
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::describe_groups_request>(a, v);
    CHECK(fwd.groups == std::vector<std::string_view>{"app-1"});
    proto::describe_groups_response up;
    auto& g = up.groups.emplace_back();
    g.group_id = "app-1";
    g.group_state = "Stable";
    g.authorized_operations = 0x7fff;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.groups.size() == 2);
    CHECK(resp.groups[0].group_state == "Stable");
    if (v >= 3) CHECK(resp.groups[0].authorized_operations == ((1 << 3) | (1 << 8)));  // Read, Describe
    CHECK(resp.groups[1].group_id == "other");
    CHECK(resp.groups[1].error_code == group_denied);

    req.groups = {"other"};
    auto ans = h.answered<proto::describe_groups_response>(h.run(req, v), v);
    CHECK(ans.groups.at(0).error_code == group_denied);
    req.groups = {"app-1"};
    req.include_authorized_operations = false;
    CHECK(h.run(req, v).what == action::forward);
    CHECK_FALSE(h.run(req, v).fixup);
  }
}

TEST_CASE("ListGroups: only groups the principal may describe, unless it may describe the cluster") {
  for (std::int16_t v : {0, 3, 5}) {
    harness h;
    proto::list_groups_request req;
    auto a = h.run(req, v);
    CHECK(a.what == action::forward);
    proto::list_groups_response up;
    for (auto g : {"app-1", "zzz", "app-2"}) up.groups.push_back({g, "consumer", {}, {}, {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.groups.size() == 2);
    CHECK(resp.groups[0].group_id == "app-1");
    CHECK(resp.groups[1].group_id == "app-2");
    harness hc(standard_policy(true));
    auto all = hc.run(req, v);
    CHECK(all.what == action::forward);
    CHECK_FALSE(all.fixup);
  }
}

TEST_CASE("DeleteGroups: Delete per group") {
  for (std::int16_t v : {0, 2}) {
    harness h;
    proto::delete_groups_request req;
    req.groups_names = {"app-old", "app-1"};
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::delete_groups_request>(a, v);
    CHECK(fwd.groups_names == std::vector<std::string_view>{"app-old"});
    proto::delete_groups_response up;
    up.results.push_back({"app-old", 0, {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.results.size() == 2);
    CHECK(resp.results[1].group_id == "app-1");
    CHECK(resp.results[1].error_code == group_denied);
    req.groups_names = {"app-1"};
    CHECK(h.answered<proto::delete_groups_response>(h.run(req, v), v).results.at(0).error_code == group_denied);
    req.groups_names = {"app-old"};
    CHECK(h.run(req, v).what == action::forward);
  }
}

// ------------------------------------------------------------------------------------------------
// CreateTopics, DeleteTopics, DeleteRecords, CreatePartitions, DescribeProducers

TEST_CASE("CreateTopics: Create on the cluster or the topic") {
  for (std::int16_t v : {0, 4, 5, 7}) {
    INFO("v" << v);
    harness h;
    proto::create_topics_request req;
    for (auto name : {"admin-t", "orders"}) {
      auto& t = req.topics.emplace_back();
      t.name = name;
      t.num_partitions = 3;
      t.replication_factor = 1;
    }
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::create_topics_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    CHECK(fwd.topics[0].name == "admin-t");
    CHECK(fwd.topics[0].num_partitions == 3);
    proto::create_topics_response up;
    auto& r = up.topics.emplace_back();
    r.name = "admin-t";
    r.num_partitions = 3;
    r.replication_factor = 1;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[0].error_code == 0);
    CHECK(resp.topics[1].name == "orders");
    CHECK(resp.topics[1].error_code == topic_denied);
    if (v >= 1) CHECK(resp.topics[1].error_message == std::optional<std::string_view>("Authorization failed."));
    if (v >= 5) CHECK(resp.topics[0].num_partitions == 3);  // admin-t: DescribeConfigs via AlterConfigs

    harness hc(standard_policy(true));
    auto all = hc.run(req, v);
    if (v >= 5) {
      // Created topic "orders" without DescribeConfigs on it: its configs are withheld.
      CHECK(all.what == action::forward);
      proto::create_topics_response up2;
      auto& o = up2.topics.emplace_back();
      o.name = "orders";
      o.num_partitions = 3;
      o.configs.emplace().push_back({"retention.ms", "1000", false, 1, false, {}});
      auto resp2 = hc.completed(all, up2, v);
      CHECK(resp2.topics[0].topic_config_error_code == topic_denied);
      CHECK(resp2.topics[0].num_partitions == -1);
      CHECK((!resp2.topics[0].configs || resp2.topics[0].configs->empty()));
    } else {
      CHECK(all.what == action::forward);
      CHECK_FALSE(all.fixup);
    }
  }
}

TEST_CASE("DeleteTopics: Delete on the topic, by name and (v6) by id") {
  for (std::int16_t v : {0, 5}) {
    harness h;
    proto::delete_topics_request req;
    req.topic_names = {"admin-t", "orders"};
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::delete_topics_request>(a, v);
    CHECK(fwd.topic_names == std::vector<std::string_view>{"admin-t"});
    proto::delete_topics_response up;
    up.responses.push_back({});
    up.responses[0].name = "admin-t";
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.responses.size() == 2);
    CHECK(resp.responses[1].name == std::optional<std::string_view>("orders"));
    CHECK(resp.responses[1].error_code == topic_denied);
  }
  harness h;
  h.names.learn(id_of(5), "admin-t");
  h.names.learn(id_of(1), "orders");
  h.names.learn(id_of(2), "secret");
  proto::delete_topics_request req;
  req.topics.push_back({std::nullopt, id_of(5), {}});          // allowed
  req.topics.push_back({std::nullopt, id_of(1), {}});          // Describe but no Delete: 29
  req.topics.push_back({std::nullopt, id_of(2), {}});          // no Describe: unknown id
  req.topics.push_back({std::nullopt, id_of(9), {}});          // unknown
  req.topics.push_back({"orders", proto::uuid{}, {}});         // by name: 29
  auto a = h.run(req, 6);
  REQUIRE(a.what == action::lookup_topic_ids);
  a = h.run(req, 6, true);
  auto fwd = h.forwarded<proto::delete_topics_request>(a, 6);
  REQUIRE(fwd.topics.size() == 1);
  CHECK(fwd.topics[0].topic_id == id_of(5));
  auto resp = h.completed(a, proto::delete_topics_response{}, 6);
  REQUIRE(resp.responses.size() == 4);
  CHECK(resp.responses[0].error_code == topic_denied);
  CHECK(resp.responses[0].name == std::optional<std::string_view>("orders"));
  CHECK(resp.responses[1].error_code == unknown_topic_id);
  CHECK_FALSE(resp.responses[1].name);
  CHECK(resp.responses[2].error_code == unknown_topic_id);
  CHECK(resp.responses[3].error_code == topic_denied);
}

TEST_CASE("DeleteRecords: Delete on the topic") {
  for (std::int16_t v : {0, 1, 2}) {
    harness h;
    proto::delete_records_request req;
    for (auto name : {"admin-t", "orders"}) req.topics.push_back({name, {{0, 10, {}}}, {}});
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::delete_records_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    CHECK(fwd.topics[0].partitions.at(0).offset == 10);
    proto::delete_records_response up;
    up.topics.push_back({"admin-t", {{0, 10, 0, {}}}, {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[1].partitions.at(0).error_code == topic_denied);
    CHECK(resp.topics[1].partitions.at(0).low_watermark == -1);
    req.topics.erase(req.topics.begin());
    CHECK(h.answered<proto::delete_records_response>(h.run(req, v), v).topics.size() == 1);
  }
}

TEST_CASE("CreatePartitions: Alter on the topic") {
  for (std::int16_t v : {0, 2, 3}) {
    harness h;
    proto::create_partitions_request req;
    for (auto name : {"admin-t", "orders"}) {
      auto& t = req.topics.emplace_back();
      t.name = name;
      t.count = 6;
      t.assignments.reset();
    }
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::create_partitions_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    CHECK(fwd.topics[0].count == 6);
    proto::create_partitions_response up;
    up.results.push_back({"admin-t", 0, std::nullopt, {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.results.size() == 2);
    CHECK(resp.results[1].error_code == topic_denied);
    CHECK(resp.results[1].error_message == std::optional<std::string_view>("Topic authorization failed."));
    req.topics.erase(req.topics.begin());
    CHECK(h.answered<proto::create_partitions_response>(h.run(req, v), v).results.at(0).error_code == topic_denied);
  }
}

TEST_CASE("DescribeProducers: Read on the topic") {
  harness h;
  proto::describe_producers_request req;
  req.topics.push_back({"orders", {0, 1}, {}});
  req.topics.push_back({"pub-a", {2}, {}});
  auto a = h.run(req, 0);
  auto fwd = h.forwarded<proto::describe_producers_request>(a, 0);
  REQUIRE(fwd.topics.size() == 1);
  proto::describe_producers_response up;
  up.topics.emplace_back().name = "orders";
  auto resp = h.completed(a, up, 0);
  REQUIRE(resp.topics.size() == 2);
  CHECK(resp.topics[1].partitions.at(0).partition_index == 2);
  CHECK(resp.topics[1].partitions.at(0).error_code == topic_denied);
  CHECK(resp.topics[1].partitions.at(0).error_message == std::optional<std::string_view>("Topic authorization failed."));
}

// ------------------------------------------------------------------------------------------------
// Configs

TEST_CASE("DescribeConfigs, AlterConfigs, IncrementalAlterConfigs: topic, broker and group resources") {
  constexpr std::int8_t topic = 2, broker = 4, group = 32;
  for (std::int16_t v : {0, 2, 4}) {
    INFO("DescribeConfigs v" << v);
    harness h;
    proto::describe_configs_request req;
    req.resources.push_back({topic, "admin-t", std::nullopt, {}});
    req.resources.push_back({topic, "orders", std::nullopt, {}});
    req.resources.push_back({broker, "1", std::nullopt, {}});
    req.resources.push_back({group, "app-1", std::nullopt, {}});
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::describe_configs_request>(a, v);
    REQUIRE(fwd.resources.size() == 1);
    CHECK(fwd.resources[0].resource_name == "admin-t");
    proto::describe_configs_response up;
    up.results.emplace_back().resource_name = "admin-t";
    up.results[0].resource_type = topic;
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.results.size() == 4);
    CHECK(resp.results[1].error_code == topic_denied);
    CHECK(resp.results[1].error_message == std::optional<std::string_view>("Topic authorization failed."));
    CHECK(resp.results[2].error_code == cluster_denied);
    CHECK(resp.results[2].resource_type == broker);
    CHECK(resp.results[3].error_code == group_denied);
    harness hc(standard_policy(true));
    req.resources.erase(req.resources.begin() + 1);
    req.resources.pop_back();
    CHECK(hc.run(req, v).what == action::forward);
  }
  for (std::int16_t v : {0, 1, 2}) {
    harness h;
    proto::alter_configs_request req;
    req.resources.push_back({topic, "pub-a", {}, {}});
    auto resp = h.answered<proto::alter_configs_response>(h.run(req, v), v);
    REQUIRE(resp.responses.size() == 1);
    CHECK(resp.responses[0].error_code == topic_denied);
    CHECK(resp.responses[0].resource_name == "pub-a");
    req.resources[0].resource_name = "admin-t";
    CHECK(h.run(req, v).what == action::forward);
  }
  for (std::int16_t v : {0, 1}) {
    harness h;
    proto::incremental_alter_configs_request req;
    req.resources.push_back({topic, "admin-t", {}, {}});
    req.resources.push_back({broker, "1", {}, {}});
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::incremental_alter_configs_request>(a, v);
    REQUIRE(fwd.resources.size() == 1);
    proto::incremental_alter_configs_response up;
    up.responses.push_back({0, std::nullopt, topic, "admin-t", {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.responses.size() == 2);
    CHECK(resp.responses[1].error_code == cluster_denied);
  }
}

// ------------------------------------------------------------------------------------------------
// Transactions and producer ids

TEST_CASE("InitProducerId: Write on the transactional id, IdempotentWrite on the cluster or Write on some topic") {
  for (std::int16_t v : {0, 2, 5}) {
    harness h;
    proto::init_producer_id_request req;
    req.transactional_id = "tx-ok";
    CHECK(h.run(req, v).what == action::forward);
    req.transactional_id = "tx-bad";
    auto t = h.answered<proto::init_producer_id_response>(h.run(req, v), v);
    CHECK(t.error_code == txn_denied);
    CHECK(t.producer_id == -1);
    req.transactional_id.reset();
    CHECK(h.run(req, v).what == action::forward);  // Write on topic orders (KIP-679)
    cfg::policy_config read_only;
    acls(read_only).push_back(rule("alice", true, {op::read}, rt::topic, {lit("orders")}));
    harness hr(read_only);
    CHECK(hr.answered<proto::init_producer_id_response>(hr.run(req, v), v).error_code == cluster_denied);
    harness hc(standard_policy(true));
    CHECK(hc.run(req, v).what == action::forward);
  }
}

TEST_CASE("AddPartitionsToTxn: all or nothing, as Kafka") {
  for (std::int16_t v : {0, 2, 3}) {
    INFO("v" << v);
    harness h;
    proto::add_partitions_to_txn_request req;
    req.v3_and_below_transactional_id = "tx-ok";
    req.v3_and_below_topics.push_back({"orders", {0, 1}, {}});
    CHECK(h.run(req, v).what == action::forward);
    req.v3_and_below_topics.push_back({"secret", {2}, {}});
    auto resp = h.answered<proto::add_partitions_to_txn_response>(h.run(req, v), v);
    REQUIRE(resp.results_by_topic_v3_and_below.size() == 2);
    CHECK(resp.results_by_topic_v3_and_below[0].results_by_partition.at(1).partition_error_code == not_attempted);
    CHECK(resp.results_by_topic_v3_and_below[1].results_by_partition.at(0).partition_error_code == topic_denied);
    req.v3_and_below_transactional_id = "tx-bad";
    auto t = h.answered<proto::add_partitions_to_txn_response>(h.run(req, v), v);
    for (const auto& topic : t.results_by_topic_v3_and_below)
      for (const auto& p : topic.results_by_partition) CHECK(p.partition_error_code == txn_denied);
  }
  for (std::int16_t v : {4, 5}) {  // brokers only
    harness h;
    proto::add_partitions_to_txn_request req;
    auto& tx = req.transactions.emplace_back();
    tx.transactional_id = "tx-ok";
    tx.topics.push_back({"orders", {0}, {}});
    auto resp = h.answered<proto::add_partitions_to_txn_response>(h.run(req, v), v);
    CHECK(resp.error_code == cluster_denied);
  }
}

TEST_CASE("AddOffsetsToTxn and EndTxn: Write on the transactional id, Read on the group") {
  for (std::int16_t v : {0, 3, 4}) {
    harness h;
    proto::add_offsets_to_txn_request req;
    req.transactional_id = "tx-ok";
    req.group_id = "app-1";
    CHECK(h.run(req, v).what == action::forward);
    req.group_id = "x";
    CHECK(h.answered<proto::add_offsets_to_txn_response>(h.run(req, v), v).error_code == group_denied);
    req.transactional_id = "tx-bad";
    CHECK(h.answered<proto::add_offsets_to_txn_response>(h.run(req, v), v).error_code == txn_denied);
  }
  for (std::int16_t v : {0, 3, 5}) {
    harness h;
    proto::end_txn_request req;
    req.transactional_id = "tx-ok";
    CHECK(h.run(req, v).what == action::forward);
    req.transactional_id = "tx-bad";
    auto resp = h.answered<proto::end_txn_response>(h.run(req, v), v);
    CHECK(resp.error_code == txn_denied);
    if (v >= 5) CHECK(resp.producer_id == -1);
  }
}

TEST_CASE("TxnOffsetCommit: transactional id, then group, then topics") {
  for (std::int16_t v : {0, 3, 4}) {
    INFO("v" << v);
    harness h;
    proto::txn_offset_commit_request req;
    req.transactional_id = "tx-ok";
    req.group_id = "app-1";
    for (auto name : {"orders", "pub-a"}) {
      auto& t = req.topics.emplace_back();
      t.name = name;
      t.partitions.push_back({});
      t.partitions[0].partition_index = 1;
    }
    auto a = h.run(req, v);
    auto fwd = h.forwarded<proto::txn_offset_commit_request>(a, v);
    REQUIRE(fwd.topics.size() == 1);
    proto::txn_offset_commit_response up;
    up.topics.push_back({"orders", {{1, 0, {}}}, {}});
    auto resp = h.completed(a, up, v);
    REQUIRE(resp.topics.size() == 2);
    CHECK(resp.topics[1].partitions.at(0).error_code == topic_denied);
    req.group_id = "x";
    auto g = h.answered<proto::txn_offset_commit_response>(h.run(req, v), v);
    for (const auto& t : g.topics) CHECK(t.partitions.at(0).error_code == group_denied);
    req.transactional_id = "tx-bad";
    auto t = h.answered<proto::txn_offset_commit_response>(h.run(req, v), v);
    CHECK(t.topics.at(0).partitions.at(0).error_code == txn_denied);
  }
}

TEST_CASE("DescribeTransactions and ListTransactions: Describe on the transactional id") {
  harness h;
  proto::describe_transactions_request req;
  req.transactional_ids = {"tx-ok", "tx-bad"};
  auto a = h.run(req, 0);
  auto fwd = h.forwarded<proto::describe_transactions_request>(a, 0);
  CHECK(fwd.transactional_ids == std::vector<std::string_view>{"tx-ok"});
  proto::describe_transactions_response up;
  auto& s = up.transaction_states.emplace_back();
  s.transactional_id = "tx-ok";
  s.transaction_state = "Ongoing";
  s.topics.push_back({"orders", {0}, {}});
  s.topics.push_back({"secret", {1}, {}});  // hidden: no Describe on it
  auto resp = h.completed(a, up, 0);
  REQUIRE(resp.transaction_states.size() == 2);
  REQUIRE(resp.transaction_states[0].topics.size() == 1);
  CHECK(resp.transaction_states[0].topics[0].topic == "orders");
  CHECK(resp.transaction_states[1].transactional_id == "tx-bad");
  CHECK(resp.transaction_states[1].error_code == txn_denied);
  req.transactional_ids = {"tx-bad"};
  CHECK(h.answered<proto::describe_transactions_response>(h.run(req, 0), 0).transaction_states.at(0).error_code ==
        txn_denied);

  for (std::int16_t v : {0, 1}) {
    proto::list_transactions_request lr;
    auto la = h.run(lr, v);
    CHECK(la.what == action::forward);
    proto::list_transactions_response lup;
    lup.transaction_states.push_back({"tx-ok", 1, "Ongoing", {}});
    lup.transaction_states.push_back({"tx-other", 2, "Ongoing", {}});
    auto lresp = h.completed(la, lup, v);
    REQUIRE(lresp.transaction_states.size() == 1);
    CHECK(lresp.transaction_states[0].transactional_id == "tx-ok");
  }
}

TEST_CASE("DescribeCluster: answered to everyone, authorized operations are the principal's") {
  for (std::int16_t v : {0, 1}) {
    proto::describe_cluster_request req;
    harness h;
    CHECK(h.run(req, v).what == action::forward);
    req.include_cluster_authorized_operations = true;
    proto::describe_cluster_response up;
    up.cluster_id = "c1";
    up.cluster_authorized_operations = 0x7fff;
    auto a = h.run(req, v);
    CHECK(h.completed(a, up, v).cluster_authorized_operations == 0);  // no Describe on the cluster
    harness hc(standard_policy(true));
    auto ac = hc.run(req, v);
    CHECK(hc.completed(ac, up, v).cluster_authorized_operations ==
          hc.acl.authorized_operations(rt::cluster, "kafka-cluster"));
  }
}

// ------------------------------------------------------------------------------------------------
// APIs the gateway cannot authorize; ACLs off

TEST_CASE("An API the gateway cannot authorize is refused unless pass_through_apis lists it") {
  proto::writer w;
  w.i16(29);  // DescribeAcls
  w.i16(3);
  w.i32(corr);
  w.nullable_string(std::string_view("c"), false);
  w.i8(1);
  auto body = w.flatten();
  {
    harness h;
    auto a = h.decide(body);
    CHECK(a.what == action::refuse);
    CHECK(a.reason.find("key 29") != std::string::npos);
    CHECK(a.reason.find("pass_through_apis") != std::string::npos);
  }
  {
    auto p = standard_policy();
    p.edit<kgw::policies::acl_section>().pass_through_apis = {29};
    harness h(p);
    CHECK(h.decide(body).what == action::forward);
  }
  CHECK_FALSE(kgw::policies::acl_can_authorize(29));
  CHECK(kgw::policies::acl_can_authorize(0));
  CHECK(kgw::policies::acl_can_authorize(18));
  CHECK(kgw::policies::acl_can_authorize(23));
  CHECK(kgw::policies::acl_can_authorize(66));
  CHECK_FALSE(kgw::policies::acl_can_authorize(27));  // WriteTxnMarkers: brokers only
}

TEST_CASE("A version the gateway cannot decode is refused with ACLs on, ApiVersions always passes") {
  harness h;
  proto::writer w;
  w.i16(3);  // Metadata v99
  w.i16(99);
  w.i32(corr);
  w.nullable_string(std::string_view("c"), false);
  auto body = w.flatten();
  CHECK(h.decide(body).what == action::refuse);
  proto::api_versions_request av;
  CHECK(h.run(av, 3).what == action::forward);
}

TEST_CASE("Malformed requests are refused, not crashed on") {
  harness h;
  auto body = proto::encode_request(commit_of("app-1", {"orders"}), 5, corr, "c", false).flatten();
  body.resize(body.size() - 3);
  auto a = h.decide(body);
  CHECK(a.what == action::refuse);
  CHECK(a.reason.find("malformed OffsetCommit") != std::string::npos);
}

TEST_CASE("ACLs off: everything is forwarded without being decoded") {
  harness h(cfg::policy_config{});
  CHECK_FALSE(h.acl.enabled());
  // Headers of real APIs followed by bytes that are not a valid message: never read.
  for (std::int16_t key : {0, 1, 3, 8, 19, 29}) {
    proto::writer w;
    w.i16(key);
    w.i16(key == 3 ? 9 : 5);
    w.i32(corr);
    w.nullable_string(std::string_view("c"), false);
    w.i32(-77);
    auto body = w.flatten();
    auto a = h.decide(body);
    INFO("key " << key);
    CHECK(a.what == action::forward);
    CHECK_FALSE(a.fixup);
  }
}

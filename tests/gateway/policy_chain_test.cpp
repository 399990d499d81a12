// The policy chain's own contract (gateway/policy_chain.h), with small policies written here next
// to the real ones: a message is decoded once for every policy that asks, a request no policy
// wants is never decoded, what policies change is encoded once, and a policy's local answer goes
// through the response halves of the policies before it.
#include <catch2/catch.hpp>
#include <deque>

#include "gateway/broker_registry.h"
#include "gateway/policy_chain.h"
#include "gateway/request_inspector.h"
#include "policies/acl/acl_policy.h"
#include "policies/acl/principal_acl.h"
#include "policies/policy.h"
#include "policies/policy_set.h"
#include "policies/validation/validation_policy.h"
#include "protocol/api_keys.h"
#include "protocol/frames.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/produce.h"
#include "tests/gateway/test_rewriter.h"

namespace proto = kgw::protocol;
namespace pol = kgw::policies;
using namespace kgw::gateway;

namespace {

constexpr std::int32_t corr = 77;

// Wants Produce; notes the decoded message it got and may rename the first topic (a rewrite),
// and in the response sets the first partition's log_start_offset to its mark.
class probe final : public pol::policy {
 public:
  explicit probe(std::int64_t mark, bool rename = false) : mark_(mark), rename_(rename) {}
  const char* name() const override { return "probe"; }
  pol::interest wants() const override {
    pol::interest i;
    i.requests.set(proto::api::produce);
    return i;
  }
  pol::request_verdict on_request(pol::request_exchange& ex) const override {
    const auto decoded = ex.message<proto::produce_request>();
    proto::produce_request* m = decoded ? *decoded : nullptr;
    seen.push_back(m);
    if (m && rename_) {
      m->topic_data.at(0).name = "renamed";
      ex.rewrote();
    }
    pol::request_verdict v;
    v.step = std::make_shared<pol::response_step>();
    return v;
  }
  std::expected<void, std::string> on_response(const pol::response_step*, pol::response_exchange& ex) const override {
    const auto decoded = ex.message<proto::produce_response>();
    if (!decoded) return std::unexpected(decoded.error());
    proto::produce_response* m = *decoded;
    seen_responses.push_back(m);
    m->responses.at(0).partition_responses.at(0).log_start_offset = mark_;
    ex.rewrote();
    return {};
  }
  mutable std::vector<const void*> seen, seen_responses;

 private:
  std::int64_t mark_;
  bool rename_;
};

request_info info_of(proto::bytes_view body) {
  proto::reader r(body);
  request_info info;
  info.api_key = r.i16();
  info.api_version = info.upstream_version = r.i16();
  info.correlation_id = r.i32();
  return info;
}

proto::produce_request produce_of(std::vector<std::pair<std::string_view, std::int32_t>> parts,
                                  const std::vector<std::byte>& recs) {
  proto::produce_request p;
  p.acks = -1;
  p.timeout_ms = 1000;
  for (auto& [topic, partition] : parts) {
    proto::produce_request::topic_produce_data* t = nullptr;
    for (auto& x : p.topic_data)
      if (x.name == topic) t = &x;
    if (!t) {
      t = &p.topic_data.emplace_back();
      t->name = topic;
    }
    t->partition_data.push_back({partition, proto::bytes_view(recs), {}});
  }
  return p;
}

template <class M>
M decode(proto::bytes_view body, std::int16_t v, bool response) {
  proto::reader r(body);
  if (response) {
    proto::response_header h;
    h.decode(r, proto::response_header_version(M::api_key, v));
  } else {
    proto::request_header h;
    h.decode(r, proto::request_header_version(M::api_key, v));
  }
  M m;
  m.decode(r, v);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  return m;
}

struct fixture : kgw::gateway::testing::test_rewriter {
  pol::topic_names names;
  std::deque<std::vector<std::byte>> keep;

  policy_chain make(std::vector<std::shared_ptr<const pol::policy>> policies) {
    auto pp = std::make_shared<pol::principal_policies>();
    for (auto& p : policies) pp->add(std::move(p));
    return policy_chain(pp, "alice", names, {});
  }
};

}  // namespace

TEST_CASE("chain: one decode of a request for every policy, one encode of what they changed") {
  fixture f;
  auto first = std::make_shared<probe>(1, true);
  auto second = std::make_shared<probe>(2);
  auto chain = f.make({first, second});
  const std::vector<std::byte> recs(40, std::byte{'r'});
  const auto body = proto::encode_request(produce_of({{"orders", 0}}, recs), 9, corr, "c", false).flatten();
  auto out = chain.on_request(info_of(body), body);
  CHECK(out.what == chain_request::action::forward);
  REQUIRE(first->seen.size() == 1);
  REQUIRE(second->seen.size() == 1);
  CHECK(first->seen[0] != nullptr);
  CHECK(first->seen[0] == second->seen[0]);  // the same decoded message
  REQUIRE(out.rewritten);
  const auto sent = out.request.flatten();
  const auto fwd = decode<proto::produce_request>(sent, 9, false);
  CHECK(fwd.topic_data.at(0).name == "renamed");
  CHECK(fwd.topic_data.at(0).partition_data.at(0).records->size() == recs.size());
  REQUIRE(out.steps);
  CHECK(out.steps->size() == 2);

  // The response: both policies' halves over one decode, encoded once with both changes.
  proto::produce_response up;
  up.responses.emplace_back().name = "renamed";
  up.responses[0].partition_responses.emplace_back().index = 0;
  const auto resp_body = proto::encode_response(up, 9, corr, false).flatten();
  governed_response g;
  const auto st = chain.on_response(out.steps.get(), {proto::api::produce, 9, false}, resp_body, f.rw, g);
  INFO((st ? std::string() : st.error()));
  REQUIRE(st == rewrite_status::rewritten);
  REQUIRE(first->seen_responses.size() == 1);
  CHECK(first->seen_responses[0] == second->seen_responses.at(0));
  const auto answer = g.w.flatten();
  const auto done = decode<proto::produce_response>(answer, 9, true);
  CHECK(done.responses.at(0).partition_responses.at(0).log_start_offset == 2);  // second ran after first
}

TEST_CASE("chain: a request no policy wants is forwarded as received, never decoded") {
  fixture f;
  auto p = std::make_shared<probe>(1);
  auto chain = f.make({p});
  // A Metadata request whose message is garbage: nobody asked, so nobody reads it.
  proto::writer w;
  w.i16(proto::api::metadata);
  w.i16(9);
  w.i32(corr);
  w.nullable_string(std::string_view("c"), true);
  w.i32(-77);
  const auto body = w.flatten();
  auto out = chain.on_request(info_of(body), body);
  CHECK(out.what == chain_request::action::forward);
  CHECK_FALSE(out.rewritten);
  CHECK_FALSE(out.steps);
  CHECK(p->seen.empty());
  CHECK_FALSE(chain.governs_responses(proto::api::metadata));
}

TEST_CASE("chain: an answer from a later policy carries the entries earlier policies took out") {
  // ACL (alice may write "orders" only) then validation (rejects records starting with 'b').
  kgw::config::policy_config rules;
  kgw::policies::acl_rule r;
  r.who.what = kgw::config::subject::kind::principals;
  r.who.names = {"alice"};
  r.allow = true;
  r.operations = {kgw::policies::acl_operation::write};
  r.type = kgw::policies::resource_type::topic;
  r.resources = {{kgw::config::pattern_type::literal, "orders"}};
  rules.edit<pol::acl_section>().rules.push_back(r);
  const kgw::config::principal_config alice{"alice", {}, {}, {}};
  auto acl = pol::make_acl_policy(std::make_shared<pol::principal_acl>(rules, alice));
  auto validation = pol::make_validation_policy(
      [](std::string_view, std::int32_t, proto::bytes_view records, const pol::decision_origin&)
          -> std::expected<void, std::string> {
        if (!records.empty() && records[0] == std::byte{'b'}) return std::unexpected(std::string("not JSON"));
        return {};
      });
  fixture f;
  auto chain = f.make({acl, validation});
  const std::vector<std::byte> bad(20, std::byte{'b'});
  for (std::int16_t v : {3, 9}) {
    INFO("v" << v);
    const auto body =
        proto::encode_request(produce_of({{"secret", 0}, {"orders", 1}}, bad), v, corr, "c", false).flatten();
    auto out = chain.on_request(info_of(body), body);
    REQUIRE(out.what == chain_request::action::answer);
    const auto resp = decode<proto::produce_response>(out.response, v, true);
    std::map<std::string, std::int16_t, std::less<>> errors;
    for (const auto& t : resp.responses)
      for (const auto& p : t.partition_responses) errors[std::string(t.name)] = p.error_code;
    CHECK(errors.size() == 2);
    CHECK(errors["secret"] == 29);  // TOPIC_AUTHORIZATION_FAILED, put back by the ACL's half
    CHECK(errors["orders"] == 87);  // INVALID_RECORD, the validation's answer
  }
}

namespace {

// Wants Metadata; reads the answer's topics without changing anything.
class metadata_reader final : public pol::policy {
 public:
  const char* name() const override { return "metadata-reader"; }
  pol::interest wants() const override {
    pol::interest i;
    i.requests.set(proto::api::metadata);
    return i;
  }
  pol::request_verdict on_request(pol::request_exchange&) const override {
    pol::request_verdict v;
    v.step = std::make_shared<pol::response_step>();
    return v;
  }
  std::expected<void, std::string> on_response(const pol::response_step*, pol::response_exchange& ex) const override {
    const auto m = ex.message<proto::metadata_response>();
    if (!m) return std::unexpected(m.error());
    topics += (*m)->topics.size();
    return {};
  }
  mutable std::size_t topics = 0;
};

}  // namespace

TEST_CASE("chain: a response a policy decoded has its broker addresses rewritten on that decode") {
  fixture f;
  auto reader = std::make_shared<metadata_reader>();
  auto chain = f.make({reader});
  proto::metadata_request req;
  req.topics.reset();
  const auto body = proto::encode_request(req, 12, corr, "c", false).flatten();
  auto out = chain.on_request(info_of(body), body);
  REQUIRE(out.steps);

  proto::metadata_response up;
  auto& b = up.brokers.emplace_back();
  b.node_id = 3;
  b.host = "kafka-3.internal";
  b.port = 9092;
  up.topics.emplace_back().name = "orders";
  const auto resp = proto::encode_response(up, 12, corr, false).flatten();
  governed_response g;
  const auto st = chain.on_response(out.steps.get(), {proto::api::metadata, 12, false}, resp, f.rw, g);
  INFO((st ? std::string() : st.error()));
  REQUIRE(st == rewrite_status::rewritten);
  CHECK(g.addresses_done);  // the session does not decode it again for its addresses
  CHECK(reader->topics == 1);
  const auto sent = g.w.flatten();
  const auto done = decode<proto::metadata_response>(sent, 12, true);
  REQUIRE(done.brokers.size() == 1);
  CHECK(done.brokers[0].host == "gw.local");
  CHECK(done.brokers[0].port == 30000 + 3);
  CHECK(done.topics.at(0).name == std::optional<std::string_view>("orders"));

  // A governed response without addresses to move is left as received, and says so.
  proto::metadata_response none;
  none.topics.emplace_back().name = "orders";
  const auto resp2 = proto::encode_response(none, 12, corr, false).flatten();
  governed_response g2;
  CHECK(chain.on_response(out.steps.get(), {proto::api::metadata, 12, false}, resp2, f.rw, g2) ==
        rewrite_status::unchanged);
  CHECK(g2.addresses_done);
}

TEST_CASE("chain: with ACLs on, an API key outside the schema is refused, whatever its number") {
  kgw::config::policy_config rules;
  kgw::policies::acl_rule r;
  r.who.what = kgw::config::subject::kind::everyone;
  r.allow = true;
  r.operations = {kgw::policies::acl_operation::all};
  r.type = kgw::policies::resource_type::topic;
  r.resources = {{kgw::config::pattern_type::literal, "orders"}};
  rules.edit<pol::acl_section>().rules.push_back(r);
  const kgw::config::principal_config alice{"alice", {}, {}, {}};
  fixture f;
  auto chain = f.make({pol::make_acl_policy(std::make_shared<pol::principal_acl>(rules, alice))});
  for (std::int16_t key : {29, 127, 128, 500, 32767, -1, -300}) {
    INFO("key " << key);
    proto::writer w;
    w.i16(key);
    w.i16(0);
    w.i32(corr);
    w.nullable_string(std::string_view("c"), false);
    const auto body = w.flatten();
    const auto out = chain.on_request(info_of(body), body);
    CHECK(out.what == chain_request::action::refuse);
    CHECK(out.reason.find("pass_through_apis") != std::string::npos);
  }
}

TEST_CASE("chain: a governed response that does not decode fails closed at every cut, never forwarded") {
  fixture f;
  auto p = std::make_shared<probe>(5);
  auto chain = f.make({p});
  const std::vector<std::byte> recs(16, std::byte{'r'});
  const auto body = proto::encode_request(produce_of({{"orders", 0}}, recs), 9, corr, "c", false).flatten();
  const auto out = chain.on_request(info_of(body), body);
  REQUIRE(out.steps);
  proto::produce_response up;
  up.responses.emplace_back().name = "orders";
  up.responses[0].partition_responses.emplace_back().index = 0;
  const auto whole = proto::encode_response(up, 9, corr, false).flatten();
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    INFO("cut at " << cut);
    const std::vector<std::byte> part(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut));
    governed_response g;
    const auto st = chain.on_response(out.steps.get(), {proto::api::produce, 9, false}, part, f.rw, g);
    REQUIRE_FALSE(st);
    CHECK_FALSE(st.error().empty());
  }
  // Bytes after a whole message are as bad as missing ones.
  auto longer = whole;
  longer.push_back(std::byte{0});
  governed_response g;
  const auto st = chain.on_response(out.steps.get(), {proto::api::produce, 9, false}, longer, f.rw, g);
  REQUIRE_FALSE(st);
  CHECK(st.error() == "malformed Produce v9 response: trailing bytes");
}

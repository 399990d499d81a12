// Audit events: each decision kind becomes a CloudEvents 1.0 JSON object with the attributes the
// spec requires and the data an auditor needs; text is escaped so any principal or detail stays
// valid JSON; traffic is rolled up or per request as asked; and the fail-closed answer to a
// Produce or Fetch decodes, with KAFKA_STORAGE_ERROR for every partition, in every version.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "policies/audit/audit_event.h"
#include "policies/audit/audit_gate.h"
#include "tests/support/json_field.h"
#include "protocol/api_keys.h"
#include "protocol/errors.h"
#include "protocol/fetch.h"
#include "protocol/headers.h"
#include "protocol/produce.h"

namespace pa = kgw::policies::audit;
namespace proto = kgw::protocol;
using kgw::policies::decision;
using kgw::policies::decision_kind;

namespace {

const auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796520905123));  // 2026-12-06T01:35:05.123Z

// The value at a dotted path of an event ("" when absent); the event must parse.
std::string field(const std::string& event, std::string_view path) {
  INFO(event);
  REQUIRE(kgw::testing::json_field(event, "").has_value());
  return kgw::testing::json_field(event, path).value_or("");
}

const pa::event_source source = pa::event_source::make("gw-1", at);

}  // namespace

TEST_CASE("audit: a denied entry is an authorization event with operation, error and rule", "[audit]") {
  decision d;
  d.kind = decision_kind::denied;
  d.generation = 3;
  d.listener = "sasl";
  d.client = "127.0.0.1:5555";
  d.principal = "marketing";
  d.mechanism = "PLAIN";
  d.client_id = "app \"one\"\n";  // escaped, whatever a client sends
  d.api_key = proto::api::produce;
  d.api_version = 9;
  d.resource_type = "topic";
  d.resource = "secrets";
  d.error = proto::kafka_error::topic_authorization_failed;
  d.operation = "Write";
  d.rule = "policies.yaml:12:7";
  REQUIRE(pa::classify(d, false) == pa::audit_class::one_by_one);
  std::string out;
  pa::append_event(d, source, 42, at, out);
  CHECK(field(out, "specversion") == "1.0");
  CHECK(field(out, "id") == source.id_prefix + "42");
  CHECK(field(out, "source") == "/kafka-gateway/gw-1");
  CHECK(field(out, "type") == "kafka.gateway.authorization");
  CHECK(field(out, "time") == "2026-12-06T01:35:05.123Z");
  CHECK(field(out, "datacontenttype") == "application/json");
  CHECK(field(out, "subject") == "marketing");
  CHECK(field(out, "data.instance") == "gw-1");
  CHECK(field(out, "data.generation") == "3");
  CHECK(field(out, "data.listener") == "sasl");
  CHECK(field(out, "data.client_address") == "127.0.0.1:5555");
  CHECK(field(out, "data.client_id") == "app \"one\"\n");
  CHECK(field(out, "data.api") == "Produce");
  CHECK(field(out, "data.api_version") == "9");
  CHECK(field(out, "data.resource.type") == "topic");
  CHECK(field(out, "data.resource.name") == "secrets");
  CHECK(field(out, "data.operation") == "Write");
  CHECK(field(out, "data.outcome") == "denied");
  CHECK(field(out, "data.error_code") == "29");
  CHECK(field(out, "data.error") == "TOPIC_AUTHORIZATION_FAILED");
  CHECK(field(out, "data.rule") == "policies.yaml:12:7");

  // No deny rule: Kafka's default deny is named as such.
  d.rule = {};
  out.clear();
  pa::append_event(d, source, 43, at, out);
  CHECK(field(out, "data.rule") == "default deny (no allow rule)");
}

TEST_CASE("audit: authentication, reload, key and policy events", "[audit]") {
  decision d;
  d.kind = decision_kind::authentication_failed;
  d.listener = "sasl";
  d.client = "10.0.0.9:4000";
  d.reason = "SASL authentication failed";
  d.detail = "invalid credentials for user mallory";
  std::string out;
  pa::append_event(d, source, 1, at, out);
    CHECK(field(out, "type") == "kafka.gateway.authentication");
  CHECK(field(out, "data.outcome") == "failure");
  CHECK(field(out, "data.reason") == "SASL authentication failed");
  CHECK(field(out, "subject").empty());  // nobody authenticated

  decision r;
  r.kind = decision_kind::reload;
  r.generation = 2;
  r.accepted = false;
  r.detail = "policies.yaml:3:1: unknown key";
  out.clear();
  pa::append_event(r, source, 2, at, out);
    CHECK(field(out, "type") == "kafka.gateway.reload");
  CHECK(field(out, "data.outcome") == "rejected");
  CHECK(field(out, "data.detail") == "policies.yaml:3:1: unknown key");

  decision k;
  k.kind = decision_kind::key;
  k.operation = "made";
  k.resource_type = "key";
  k.resource = "k-123";
  out.clear();
  pa::append_event(k, source, 3, at, out);
    CHECK(field(out, "type") == "kafka.gateway.keys");
  CHECK(field(out, "data.operation") == "made");
  CHECK(field(out, "data.resource.name") == "k-123");

  // Records: a failure is audited by itself; what a view did is rolled up unless per request.
  decision p;
  p.kind = decision_kind::records;
  p.principal = "fraud";
  p.api_key = proto::api::fetch;
  p.resource_type = "topic";
  p.resource = "customers";
  p.partition = 2;
  kgw::policies::add(p.counts, kgw::policies::tally::records_filtered, 5);
  CHECK(pa::classify(p, false) == pa::audit_class::rolled_up);
  CHECK(pa::classify(p, true) == pa::audit_class::one_by_one);
  p.error = proto::kafka_error::corrupt_message;
  CHECK(pa::classify(p, false) == pa::audit_class::one_by_one);
  out.clear();
  pa::append_event(p, source, 4, at, out);
    CHECK(field(out, "type") == "kafka.gateway.policy");
  CHECK(field(out, "data.outcome") == "failed");
  CHECK(field(out, "data.resource.partition") == "2");
  CHECK(field(out, "data.records_by_outcome.records_filtered") == "5");
}

TEST_CASE("audit: traffic is rolled up per (principal, topic, API) or written per request", "[audit]") {
  decision t;
  t.kind = decision_kind::traffic;
  t.principal = "analytics";
  t.api_key = proto::api::fetch;
  t.resource_type = "topic";
  t.resource = "customers";
  t.bytes = 1000;
  t.records = 10;
  CHECK(pa::classify(t, false) == pa::audit_class::rolled_up);
  CHECK(pa::classify(t, true) == pa::audit_class::one_by_one);
  std::string out;
  pa::append_event(t, source, 5, at, out);
    CHECK(field(out, "type") == "kafka.gateway.traffic");
  CHECK(field(out, "data.records") == "10");
  CHECK(field(out, "data.bytes") == "1000");

  pa::traffic_row row;
  row.principal = "analytics";
  row.topic = "customers";
  row.api_key = proto::api::fetch;
  row.requests = 7;
  row.bytes = 123456;
  row.records = 999;
  kgw::policies::add(row.counts, kgw::policies::tally::records_masked, 999);
  out.clear();
  pa::append_rollup(row, at - std::chrono::seconds(60), at, 4, source, 6, at, out);
    CHECK(field(out, "type") == "kafka.gateway.traffic");
  CHECK(field(out, "subject") == "analytics");
  CHECK(field(out, "data.api") == "Fetch");
  CHECK(field(out, "data.resource.name") == "customers");
  CHECK(field(out, "data.window.start") == "2026-12-06T01:34:05.123Z");
  CHECK(field(out, "data.window.end") == "2026-12-06T01:35:05.123Z");
  CHECK(field(out, "data.requests") == "7");
  CHECK(field(out, "data.bytes") == "123456");
  CHECK(field(out, "data.records") == "999");
  CHECK(field(out, "data.records_by_outcome.records_masked") == "999");
  CHECK(field(out, "data.generation") == "4");
}

namespace {

std::vector<std::byte> request(std::int16_t key, std::int16_t v, const auto& m) {
  proto::writer w;
  proto::request_header h;
  h.request_api_key = key;
  h.request_api_version = v;
  h.correlation_id = 77;
  h.client_id = "c";
  h.encode(w, proto::request_header_version(key, v));
  m.encode(w, v);
  return w.flatten();
}

template <class Response>
Response response_of(const std::vector<std::byte>& body, std::int16_t v) {
  proto::reader r(body);
  proto::response_header h;
  h.decode(r, proto::response_header_version(Response::api_key, v));
  REQUIRE(h.correlation_id == 77);
  Response m;
  m.decode(r, v);
  REQUIRE(r.ok());
  REQUIRE(r.remaining() == 0);
  return m;
}

}  // namespace

TEST_CASE("audit gate: Produce and Fetch are answered KAFKA_STORAGE_ERROR on every partition, every version",
          "[audit]") {
  for (std::int16_t v = 0; v <= proto::produce_request::max_version; ++v) {
    INFO("Produce v" << v);
    proto::produce_request req;
    req.acks = -1;
    auto& t = req.topic_data.emplace_back();
    t.name = "customers";
    t.partition_data.resize(2);
    t.partition_data[1].index = 1;
    const auto answer = pa::unavailable_answer(proto::api::produce, v, request(proto::api::produce, v, req));
    REQUIRE(answer.has_value());
    REQUIRE(answer->has_value());
    const auto resp = response_of<proto::produce_response>(**answer, v);
    REQUIRE(resp.responses.size() == 1);
    CHECK(resp.responses[0].name == "customers");
    REQUIRE(resp.responses[0].partition_responses.size() == 2);
    for (const auto& p : resp.responses[0].partition_responses) CHECK(p.error_code == proto::kafka_error::kafka_storage_error);
    if (v >= 1) CHECK(resp.throttle_time_ms == pa::unavailable_throttle_ms);
    req.acks = 0;  // no answer expected: none given
    const auto none = pa::unavailable_answer(proto::api::produce, v, request(proto::api::produce, v, req));
    REQUIRE(none.has_value());
    CHECK_FALSE(none->has_value());
  }
  for (std::int16_t v = 0; v <= proto::fetch_request::max_version; ++v) {
    INFO("Fetch v" << v);
    proto::fetch_request req;
    auto& t = req.topics.emplace_back();
    t.topic = "customers";
    t.topic_id[0] = std::byte{9};
    t.partitions.resize(3);
    const auto answer = pa::unavailable_answer(proto::api::fetch, v, request(proto::api::fetch, v, req));
    REQUIRE(answer.has_value());
    REQUIRE(answer->has_value());
    const auto resp = response_of<proto::fetch_response>(**answer, v);
    REQUIRE(resp.responses.size() == 1);
    if (v >= 13)
      CHECK(resp.responses[0].topic_id == t.topic_id);
    else
      CHECK(resp.responses[0].topic == "customers");
    REQUIRE(resp.responses[0].partitions.size() == 3);
    for (const auto& p : resp.responses[0].partitions) CHECK(p.error_code == proto::kafka_error::kafka_storage_error);
  }
  // A request that does not decode is an error (the session closes the connection).
  std::vector<std::byte> junk(12, std::byte{0});
  CHECK_FALSE(pa::unavailable_answer(proto::api::fetch, 4, junk).has_value());
}

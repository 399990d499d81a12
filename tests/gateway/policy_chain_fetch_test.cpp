// The policy chain (gateway/policy_chain.h) on Fetch responses the embedded broker never sends (it speaks
// Fetch 0-11 only): v4, v11, v12 (flexible), v13 (topic ids) and v16/v17 (KIP-951 node
// endpoints). Every case builds a gateway config with inline policies, encodes a real Fetch
// response with the codec and records made by protocol::encode_batch, governs it as the ANONYMOUS
// principal, decodes what comes out and checks it record by record: offsets kept, filtered
// records gone, masks applied, control batches byte-identical, legacy entries and truncated tails
// dropped (and counted), corrupt batches failing their partition, untouched partitions borrowed
// from the received frame.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/gateway_config.h"
#include "config/loader.h"
#include "gateway/address_rewriter.h"
#include "gateway/broker_registry.h"
#include "gateway/config_extensions.h"
#include "gateway/governance_summary.h"
#include "gateway/policy_chain.h"
#include "gateway/request_inspector.h"
#include "policies/policy_set.h"
#include "policies/transform_cache.h"
#include "protocol/fetch.h"
#include "protocol/headers.h"
#include "protocol/record_batch.h"
#include "protocol/frames.h"
#include "tests/gateway/test_rewriter.h"

namespace proto = kgw::protocol;
namespace cfg = kgw::config;
using namespace kgw::gateway;
using codec = proto::compression_codec;

namespace {

constexpr std::int16_t corrupt_message = 2, topic_authorization_failed = 29, unknown_topic_id = 100;
constexpr std::int32_t correlation = 31337;
constexpr std::int64_t base_ts = 1'700'000'000'000;
constexpr const char* principal = "ANONYMOUS";

// orders: filtered (keep == true) and e-mail redacted, invalid JSON dropped (the default).
// lenient: e-mail redacted, invalid JSON replaced. plain: no view.
const std::string policies_yaml = R"(upstream: { bootstrap: [k:9092] }
policies:
  views:
    - everyone: true
      topics: [orders]
      where: keep == true
      mask:
        - { field: email, function: redact }
    - everyone: true
      topics: [lenient]
      mask:
        - { field: email, function: redact }
      on_invalid_json: { replace_with: '{"invalid": true}' }
)";

// Same views, plus ACLs: everyone may read orders and plain, nothing else.
const std::string acl_yaml = policies_yaml + R"(  acls:
    - everyone: true
      allow: [Read, Describe]
      topics: [orders, plain]
)";

void put_be(std::vector<std::byte>& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

struct record_spec {
  std::string key, value;
};

// One v2 batch: record i at base + i (offset delta i), key and value as given.
std::vector<std::byte> make_batch(std::int64_t base, codec c, const std::vector<record_spec>& recs,
                                  std::int16_t extra_attributes = 0) {
  proto::batch_header like;
  like.base_offset = base;
  like.partition_leader_epoch = 7;
  like.attributes = static_cast<std::int16_t>(static_cast<std::int16_t>(c) | extra_attributes);
  like.last_offset_delta = static_cast<std::int32_t>(recs.size()) - 1;
  like.base_timestamp = base_ts + base;
  like.max_timestamp = base_ts + base + static_cast<std::int64_t>(recs.size()) - 1;
  like.producer_id = extra_attributes & proto::batch_transactional_bit ? 4000 : -1;
  like.producer_epoch = extra_attributes & proto::batch_transactional_bit ? 3 : -1;
  std::vector<proto::record_to_write> w;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    proto::record_to_write r;
    r.offset_delta = static_cast<std::int32_t>(i);
    r.timestamp_delta = static_cast<std::int64_t>(i);
    r.key = proto::as_bytes(recs[i].key);
    r.value = proto::as_bytes(recs[i].value);
    w.push_back(r);
  }
  std::vector<std::byte> out;
  auto ok = proto::encode_batch(like, false, w, out);
  INFO((ok ? std::string() : ok.error()));
  REQUIRE(ok.has_value());
  return out;
}

// A transaction marker: control batch, one record with the control key (version 0, type 1 =
// COMMIT) and value (version 0, coordinator epoch 5).
std::vector<std::byte> make_control_batch(std::int64_t offset) {
  const std::string key("\x00\x00\x00\x01", 4), value("\x00\x00\x00\x00\x00\x05", 6);
  return make_batch(offset, codec::none, {{key, value}}, proto::batch_control_bit | proto::batch_transactional_bit);
}

// A legacy message set entry (magic 0 or 1, uncompressed): offset, size, crc (CRC-32 of what
// follows), magic, attributes, timestamp (v1 only), key, value.
std::vector<std::byte> make_legacy(int magic, std::int64_t offset, std::string_view key, std::string_view value) {
  std::vector<std::byte> body;  // magic .. value
  put_be(body, static_cast<std::uint64_t>(magic), 1);
  put_be(body, 0, 1);
  if (magic == 1) put_be(body, static_cast<std::uint64_t>(base_ts), 8);
  put_be(body, key.size(), 4);
  for (char ch : key) body.push_back(static_cast<std::byte>(ch));
  put_be(body, value.size(), 4);
  for (char ch : value) body.push_back(static_cast<std::byte>(ch));
  const auto crc = ::crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  std::vector<std::byte> out;
  put_be(out, static_cast<std::uint64_t>(offset), 8);
  put_be(out, body.size() + 4, 4);
  put_be(out, crc, 4);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<std::byte> concat(std::initializer_list<const std::vector<std::byte>*> parts) {
  std::vector<std::byte> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

std::string order(int id, bool keep, bool with_email = true) {
  std::string v = R"({"id": )" + std::to_string(id) + R"(, "keep": )" + (keep ? "true" : "false");
  if (with_email) v += R"(, "email": "user)" + std::to_string(id) + R"(@example.com")";
  return v + "}";
}
std::string masked_order(int id) { return R"({"id": )" + std::to_string(id) + R"(, "keep": true, "email": "***"})"; }

// A batch as decoded from the governed response, with its exact bytes.
struct seen_record {
  std::int64_t offset;
  std::string key, value;
  bool operator==(const seen_record&) const = default;
};
struct seen_batch {
  std::vector<std::byte> bytes;
  proto::batch_header header;
  std::vector<seen_record> records;
};

std::string text(const std::optional<proto::bytes_view>& b) { return b ? std::string(proto::as_string(*b)) : "<null>"; }

std::vector<seen_batch> batches_of(proto::bytes_view records) {
  std::vector<proto::records_entry> entries;
  proto::split_records(records, entries);
  std::vector<seen_batch> out;
  proto::decoded_batch d;
  for (const auto& e : entries) {
    INFO("entry at offset " << e.base_offset);
    REQUIRE(e.what == proto::records_entry::kind::batch_v2);
    auto ok = proto::decode_batch(e.bytes, d, 1u << 24);
    INFO((ok ? std::string() : ok.error()));
    REQUIRE(ok.has_value());
    seen_batch b;
    b.bytes.assign(e.bytes.begin(), e.bytes.end());
    b.header = d.header;
    for (const auto& r : d.records) b.records.push_back({d.header.base_offset + r.offset_delta, text(r.key), text(r.value)});
    out.push_back(std::move(b));
  }
  return out;
}

// Everything one session needs: the config, its policy set, the worker's topic names, a decision
// stream with the governance counters subscribed, a rewriter whose registry "binds"
// 30000-30009, and the session's policies.
struct fixture : kgw::gateway::testing::test_rewriter {
  cfg::gateway_config config;
  std::unique_ptr<kgw::policies::policy_set> set;
  topic_names names;
  governance_counters counters;
  kgw::policies::decision_stream decisions;
  std::unique_ptr<policy_chain> sp;
  std::deque<std::vector<std::byte>> keep;  // bodies and outputs the decoded views point into

  explicit fixture(const std::string& yaml = policies_yaml) {
    auto c = cfg::load_string(yaml, "policies.yaml", kgw::gateway::config_extensions());
    INFO((c ? std::string() : c.error()));
    REQUIRE(c.has_value());
    config = std::move(*c);
    set = std::make_unique<kgw::policies::policy_set>(config);
    decisions.subscribe([this](const kgw::policies::decision& d) { counters.add(d); });
    sp = std::make_unique<policy_chain>(set->chain(principal), principal, names,
                                            kgw::policies::decision_origin{&decisions, 1, "test", "test", principal, "PLAIN"});
  }

  std::vector<std::byte>& body(const proto::fetch_response& m, std::int16_t v) {
    proto::writer w;
    proto::response_header h;
    h.correlation_id = correlation;
    h.encode(w, proto::response_header_version(proto::fetch_response::api_key, v));
    m.encode(w, v);
    return keep.emplace_back(w.flatten());
  }
};

// The outcome of governing one response.
struct governed {
  rewrite_result status = std::unexpected(std::string("not governed"));
  std::string error;  // status.error(), when it failed
  std::unique_ptr<governed_response> out = std::make_unique<governed_response>();
  std::vector<std::byte> flat;
  proto::fetch_response decoded;
};

governed govern(fixture& f, const std::vector<std::byte>& body, std::int16_t v) {
  governed g;
  g.status = f.sp->on_response(nullptr, {proto::fetch_response::api_key, v, false}, body, f.rw, *g.out);
  if (!g.status) g.error = g.status.error();
  if (g.status != rewrite_status::rewritten) return g;
  g.flat = g.out->w.flatten();
  proto::reader r(g.flat);
  proto::response_header h;
  h.decode(r, proto::response_header_version(proto::fetch_response::api_key, v));
  CHECK(h.correlation_id == correlation);
  g.decoded.decode(r, v);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  return g;
}

// True when the governed output refers to `records` in place (borrowed, not copied).
bool borrowed(const governed& g, proto::bytes_view records) {
  for (auto s : g.out->w.slices())
    if (s.data() == records.data() && s.size() == records.size()) return true;
  return false;
}

proto::uuid id_of(std::uint8_t n) {
  proto::uuid u{};
  u[0] = std::byte{0xAB};
  u[15] = std::byte{n};
  return u;
}

}  // namespace

TEST_CASE("governed Fetch v4, v11 and v12 with codecs none, zstd and snappy: offsets kept, filtered records gone, "
          "masks applied, control batch as received, legacy and truncated tail dropped, corrupt batch fails its "
          "partition") {
  for (std::int16_t v : {4, 11, 12})
    for (codec c : {codec::none, codec::zstd, codec::snappy}) {
      INFO("Fetch v" << v << ", codec " << proto::name_of(c));
      fixture f;
      // orders p0: A keeps 0 and 2 (masked), drops 1; B drops both; a transaction marker; a
      // legacy v1 and a legacy v0 message; C keeps both unchanged (no e-mail to mask); D cut at
      // max_bytes.
      const auto a = make_batch(0, c, {{"k0", order(0, true)}, {"k1", order(1, false)}, {"k2", order(2, true)}});
      const auto b = make_batch(3, c, {{"k3", order(3, false)}, {"k4", order(4, false)}});
      const auto control = make_control_batch(5);
      const auto legacy1 = make_legacy(1, 6, "k6", order(6, true));
      const auto legacy0 = make_legacy(0, 7, "k7", order(7, true));
      const auto cc = make_batch(8, c, {{"k8", order(8, true, false)}, {"k9", order(9, true, false)}});
      auto d = make_batch(10, c, {{"k10", order(10, true)}, {"k11", order(11, true)}});
      d.resize(d.size() / 2);
      const auto p0 = concat({&a, &b, &control, &legacy1, &legacy0, &cc, &d});
      // orders p1: one batch whose CRC no longer matches (last byte changed).
      auto corrupt = make_batch(0, c, {{"k0", order(0, true)}, {"k1", order(1, true)}});
      corrupt.back() ^= std::byte{0x5A};
      // plain p0: no view; not even JSON, and a legacy message at the end.
      const auto plain_batch = make_batch(0, c, {{"x", "not json at all"}, {"y", "neither"}});
      const auto plain_legacy = make_legacy(1, 2, "z", "old format");
      const auto plain = concat({&plain_batch, &plain_legacy});

      proto::fetch_response m;
      m.responses.reserve(2);
      m.throttle_time_ms = 12;
      m.session_id = 99;
      auto& orders = m.responses.emplace_back();
      orders.topic = "orders";
      auto& op0 = orders.partitions.emplace_back();
      op0.partition_index = 0;
      op0.high_watermark = 12;
      op0.last_stable_offset = 12;
      op0.log_start_offset = 0;
      op0.aborted_transactions->push_back({4000, 5, {}});
      op0.preferred_read_replica = 2;
      op0.current_leader.leader_id = 3;
      op0.current_leader.leader_epoch = 7;
      op0.records = proto::bytes_view(p0);
      auto& op1 = orders.partitions.emplace_back();
      op1.partition_index = 1;
      op1.high_watermark = 2;
      op1.records = proto::bytes_view(corrupt);
      auto& op2 = orders.partitions.emplace_back();
      op2.partition_index = 2;
      op2.error_code = 1;  // OFFSET_OUT_OF_RANGE, no records
      op2.records = std::nullopt;
      auto& plain_t = m.responses.emplace_back();
      plain_t.topic = "plain";
      auto& pp0 = plain_t.partitions.emplace_back();
      pp0.partition_index = 0;
      pp0.high_watermark = 3;
      pp0.records = proto::bytes_view(plain);

      const auto& body = f.body(m, v);
      const auto g = govern(f, body, v);
      INFO(g.error);
      REQUIRE(g.status == rewrite_status::rewritten);
      const auto& out = g.decoded;
      CHECK(out.throttle_time_ms == 12);
      if (v >= 7) CHECK(out.session_id == 99);
      REQUIRE(out.responses.size() == 2);
      REQUIRE(out.responses[0].topic == "orders");
      REQUIRE(out.responses[0].partitions.size() == 3);

      // p0: everything about the partition as received, its records governed.
      const auto& q0 = out.responses[0].partitions[0];
      CHECK(q0.partition_index == 0);
      CHECK(q0.error_code == 0);
      CHECK(q0.high_watermark == 12);
      CHECK(q0.last_stable_offset == 12);
      if (v >= 5) CHECK(q0.log_start_offset == 0);
      REQUIRE(q0.aborted_transactions.has_value());
      REQUIRE(q0.aborted_transactions->size() == 1);
      CHECK((*q0.aborted_transactions)[0].producer_id == 4000);
      CHECK((*q0.aborted_transactions)[0].first_offset == 5);
      if (v >= 11) CHECK(q0.preferred_read_replica == 2);
      if (v >= 12) {
        CHECK(q0.current_leader.leader_id == 3);
        CHECK(q0.current_leader.leader_epoch == 7);
      }
      REQUIRE(q0.records.has_value());
      const auto got = batches_of(*q0.records);
      // A', B', control, the stand-in for the legacy messages, C: the truncated tail gone.
      REQUIRE(got.size() == 5);
      // A': offsets 0 and 2, masked, the batch still ending at offset 2, same codec and producer.
      CHECK(got[0].header.base_offset == 0);
      CHECK(got[0].header.last_offset_delta == 2);
      CHECK(got[0].header.record_count == 2);
      CHECK(got[0].header.codec() == c);
      CHECK(got[0].header.partition_leader_epoch == 7);
      CHECK(got[0].header.base_timestamp == base_ts);
      CHECK(got[0].header.max_timestamp == base_ts + 2);
      CHECK(got[0].records == std::vector<seen_record>{{0, "k0", masked_order(0)}, {2, "k2", masked_order(2)}});
      // B': every record filtered, sent empty so the consumer moves past offsets 3 and 4;
      // uncompressed and marked as a control batch (what clients skip without looking for records).
      CHECK(got[1].header.base_offset == 3);
      CHECK(got[1].header.last_offset_delta == 1);
      CHECK(got[1].header.last_offset() == 4);
      CHECK(got[1].header.record_count == 0);
      CHECK(got[1].header.codec() == codec::none);
      CHECK(got[1].header.control());
      CHECK(got[1].records.empty());
      // The marker exactly as received.
      CHECK(got[2].bytes == control);
      CHECK(got[2].header.control());
      // The legacy v1 and v0 messages (offsets 6 and 7): none of their records, one empty
      // control batch ending at offset 7 in their place so the consumer moves past them.
      CHECK(got[3].header.base_offset == 6);
      CHECK(got[3].header.last_offset() == 7);
      CHECK(got[3].header.record_count == 0);
      CHECK(got[3].header.control());
      CHECK(got[3].records.empty());
      // C exactly as received.
      CHECK(got[4].bytes == cc);
      CHECK(got[4].records == std::vector<seen_record>{{8, "k8", order(8, true, false)}, {9, "k9", order(9, true, false)}});

      // p1: the corrupt batch fails the partition; nothing of it is delivered.
      const auto& q1 = out.responses[0].partitions[1];
      CHECK(q1.partition_index == 1);
      CHECK(q1.error_code == corrupt_message);
      CHECK((!q1.records || q1.records->empty()));
      // p2: untouched.
      const auto& q2 = out.responses[0].partitions[2];
      CHECK(q2.error_code == 1);
      CHECK_FALSE(q2.records.has_value());

      // plain: byte-identical (its legacy message included), and borrowed from the received frame
      // rather than copied.
      REQUIRE(out.responses[1].topic == "plain");
      REQUIRE(out.responses[1].partitions.size() == 1);
      REQUIRE(out.responses[1].partitions[0].records.has_value());
      const auto pr = *out.responses[1].partitions[0].records;
      CHECK(std::vector<std::byte>(pr.begin(), pr.end()) == plain);
      {
        // The records field inside the received body: find it as the frame's own bytes.
        proto::reader r(body);
        proto::response_header h;
        h.decode(r, proto::response_header_version(proto::fetch_response::api_key, v));
        proto::fetch_response in;
        in.decode(r, v);
        REQUIRE(r.ok());
        CHECK(borrowed(g, *in.responses[1].partitions[0].records));
        CHECK_FALSE(borrowed(g, *in.responses[0].partitions[0].records));
      }

      const auto& n = f.counters;
      CHECK(n.records_filtered == 3);
      CHECK(n.records_masked == 2);
      CHECK(n.records_delivered == 4);
      CHECK(n.legacy_batches_dropped == 2);
      CHECK(n.corrupt_batches == 1);
      CHECK(n.batches_rewritten == 2);
      CHECK(n.records_invalid_dropped == 0);
      CHECK(n.records_invalid_replaced == 0);
    }
}

TEST_CASE("governed Fetch v13: topics by id, an unknown id is UNKNOWN_TOPIC_ID with no records") {
  for (std::int16_t v : {13, 15}) {
    INFO("Fetch v" << v);
    fixture f;
    f.names.learn(id_of(1), "orders");
    f.names.learn(id_of(2), "plain");
    const auto a = make_batch(40, codec::zstd, {{"k40", order(40, false)}, {"k41", order(41, true)}});
    const auto plain = make_batch(0, codec::none, {{"x", "raw"}});
    const auto secret = make_batch(0, codec::none, {{"s", order(1, true)}});

    proto::fetch_response m;
    m.responses.reserve(3);
    auto& t1 = m.responses.emplace_back();
    t1.topic_id = id_of(1);
    auto& p = t1.partitions.emplace_back();
    p.partition_index = 3;
    p.high_watermark = 42;
    p.records = proto::bytes_view(a);
    auto& t2 = m.responses.emplace_back();
    t2.topic_id = id_of(2);
    t2.partitions.emplace_back().records = proto::bytes_view(plain);
    auto& t9 = m.responses.emplace_back();
    t9.topic_id = id_of(9);  // never learnt
    auto& u0 = t9.partitions.emplace_back();
    u0.partition_index = 0;
    u0.high_watermark = 1;
    u0.records = proto::bytes_view(secret);
    auto& u1 = t9.partitions.emplace_back();
    u1.partition_index = 1;
    u1.error_code = 6;  // NOT_LEADER_OR_FOLLOWER, no records: left as it is
    u1.records = std::nullopt;

    const auto& body = f.body(m, v);
    const auto g = govern(f, body, v);
    INFO(g.error);
    REQUIRE(g.status == rewrite_status::rewritten);
    REQUIRE(g.decoded.responses.size() == 3);
    const auto& o1 = g.decoded.responses[0];
    CHECK(o1.topic_id == id_of(1));
    REQUIRE(o1.partitions.size() == 1);
    CHECK(o1.partitions[0].partition_index == 3);
    CHECK(o1.partitions[0].high_watermark == 42);
    const auto got = batches_of(*o1.partitions[0].records);
    REQUIRE(got.size() == 1);
    CHECK(got[0].header.base_offset == 40);
    CHECK(got[0].header.last_offset_delta == 1);
    CHECK(got[0].header.codec() == codec::zstd);
    CHECK(got[0].records == std::vector<seen_record>{{41, "k41", masked_order(41)}});

    const auto& o2 = g.decoded.responses[1];
    CHECK(o2.topic_id == id_of(2));
    CHECK(std::vector<std::byte>(o2.partitions.at(0).records->begin(), o2.partitions.at(0).records->end()) == plain);

    const auto& o9 = g.decoded.responses[2];
    CHECK(o9.topic_id == id_of(9));
    REQUIRE(o9.partitions.size() == 2);
    CHECK(o9.partitions[0].error_code == unknown_topic_id);
    CHECK((!o9.partitions[0].records || o9.partitions[0].records->empty()));
    CHECK(o9.partitions[1].error_code == 6);
    CHECK_FALSE(o9.partitions[1].records.has_value());

    CHECK(f.counters.records_filtered == 1);
    CHECK(f.counters.records_masked == 1);
  }
}

TEST_CASE("governed Fetch v16 and v17: node endpoints point at the gateway, with and without governed records") {
  for (std::int16_t v : {16, 17}) {
    INFO("Fetch v" << v);
    for (bool governed_topic : {true, false}) {
      INFO((governed_topic ? "orders (governed)" : "plain (no view)"));
      fixture f;
      f.names.learn(id_of(1), "orders");
      f.names.learn(id_of(2), "plain");
      const auto a = make_batch(0, codec::snappy, {{"k0", order(0, true)}, {"k1", order(1, false)}});
      proto::fetch_response m;
      auto& t = m.responses.emplace_back();
      t.topic_id = governed_topic ? id_of(1) : id_of(2);
      auto& p = t.partitions.emplace_back();
      p.error_code = 6;  // NOT_LEADER_OR_FOLLOWER: the new leader is in current_leader + endpoints
      p.current_leader.leader_id = 2;
      p.current_leader.leader_epoch = 9;
      p.records = proto::bytes_view(a);
      m.node_endpoints.push_back({1, "kafka-1.internal", 9092, std::string_view("rack-a"), {}});
      m.node_endpoints.push_back({2, "kafka-2.internal", 9093, std::nullopt, {}});

      const auto& body = f.body(m, v);
      const auto g = govern(f, body, v);
      INFO(g.error);
      REQUIRE(g.status == rewrite_status::rewritten);
      const auto& out = g.decoded;
      REQUIRE(out.node_endpoints.size() == 2);
      CHECK(out.node_endpoints[0].node_id == 1);
      CHECK(out.node_endpoints[0].host == "gw.local");
      CHECK(out.node_endpoints[0].port == 30001);
      CHECK(out.node_endpoints[0].rack == std::optional<std::string_view>("rack-a"));
      CHECK(out.node_endpoints[1].node_id == 2);
      CHECK(out.node_endpoints[1].host == "gw.local");
      CHECK(out.node_endpoints[1].port == 30002);
      CHECK_FALSE(out.node_endpoints[1].rack.has_value());
      CHECK(f.bound == std::vector<std::uint16_t>{30001, 30002});
      REQUIRE(f.reg.for_port(30001).has_value());
      CHECK(f.reg.for_port(30001)->upstream.str() == "kafka-1.internal:9092");
      CHECK(f.reg.for_port(30002)->upstream.str() == "kafka-2.internal:9093");
      const auto flat = std::string(proto::as_string(g.flat));
      CHECK(flat.find("kafka-1.internal") == std::string::npos);
      CHECK(flat.find("kafka-2.internal") == std::string::npos);

      const auto& q = out.responses.at(0).partitions.at(0);
      CHECK(q.error_code == 6);
      CHECK(q.current_leader.leader_id == 2);
      CHECK(q.current_leader.leader_epoch == 9);
      const auto got = batches_of(*q.records);
      REQUIRE(got.size() == 1);
      if (governed_topic) {
        CHECK(got[0].header.last_offset_delta == 1);
        CHECK(got[0].header.codec() == codec::snappy);
        CHECK(got[0].records == std::vector<seen_record>{{0, "k0", masked_order(0)}});
      } else {
        CHECK(got[0].bytes == a);
      }
    }
  }
}

TEST_CASE("a Fetch response policies leave alone is unchanged: plain topics, batches without anything to filter or "
          "mask, empty and null records") {
  for (std::int16_t v : {4, 11, 12, 13, 17}) {
    INFO("Fetch v" << v);
    fixture f;
    f.names.learn(id_of(1), "orders");
    f.names.learn(id_of(2), "plain");
    const auto plain = make_batch(0, codec::lz4, {{"x", "raw bytes"}, {"y", order(1, false)}});
    // Records the view keeps as they are (keep == true, no e-mail), and a marker.
    const auto kept = make_batch(10, codec::zstd, {{"k10", order(10, true, false)}});
    const auto control = make_control_batch(11);
    const auto orders_records = concat({&kept, &control});
    const auto empty = std::vector<std::byte>{};

    proto::fetch_response m;
    m.responses.reserve(2);
    auto& tp = m.responses.emplace_back();
    tp.topic = "plain";
    tp.topic_id = id_of(2);
    tp.partitions.emplace_back().records = proto::bytes_view(plain);
    auto& to = m.responses.emplace_back();
    to.topic = "orders";
    to.topic_id = id_of(1);
    auto& o0 = to.partitions.emplace_back();
    o0.records = proto::bytes_view(orders_records);
    auto& o1 = to.partitions.emplace_back();
    o1.partition_index = 1;
    o1.records = proto::bytes_view(empty);
    auto& o2 = to.partitions.emplace_back();
    o2.partition_index = 2;
    o2.error_code = 1;
    o2.records = std::nullopt;

    const auto& body = f.body(m, v);
    const auto g = govern(f, body, v);
    INFO(g.error);
    CHECK(g.status == rewrite_status::unchanged);
    CHECK(g.out->w.size() == 0);
    CHECK(f.counters.batches_rewritten == 0);
    CHECK(f.counters.records_delivered == 1);  // the kept record was looked at
    CHECK(f.counters.records_filtered == 0);
    CHECK(f.counters.records_masked == 0);
  }
}

TEST_CASE("governed Fetch: values that are not JSON are dropped, or replaced where the view says so, and counted") {
  fixture f;
  const auto o = make_batch(0, codec::zstd, {{"k0", order(0, true)}, {"k1", "not json"}, {"k2", "{\"id\": "}, {"k3", order(3, true)}});
  const auto l = make_batch(100, codec::none, {{"m0", "<xml/>"}, {"m1", order(1, false)}});
  proto::fetch_response m;
  m.responses.reserve(2);
  auto& to = m.responses.emplace_back();
  to.topic = "orders";
  to.partitions.emplace_back().records = proto::bytes_view(o);
  auto& tl = m.responses.emplace_back();
  tl.topic = "lenient";
  tl.partitions.emplace_back().records = proto::bytes_view(l);

  const auto& body = f.body(m, 12);
  const auto g = govern(f, body, 12);
  INFO(g.error);
  REQUIRE(g.status == rewrite_status::rewritten);
  const auto go = batches_of(*g.decoded.responses.at(0).partitions.at(0).records);
  REQUIRE(go.size() == 1);
  CHECK(go[0].header.last_offset_delta == 3);
  CHECK(go[0].records == std::vector<seen_record>{{0, "k0", masked_order(0)}, {3, "k3", masked_order(3)}});
  const auto gl = batches_of(*g.decoded.responses.at(1).partitions.at(0).records);
  REQUIRE(gl.size() == 1);
  CHECK(gl[0].header.base_offset == 100);
  // lenient has no filter: keep == false is delivered too, masked.
  CHECK(gl[0].records == std::vector<seen_record>{{100, "m0", R"({"invalid": true})"},
                                                  {101, "m1", R"({"id": 1, "keep": false, "email": "***"})"}});
  CHECK(f.counters.records_invalid_dropped == 2);
  CHECK(f.counters.records_invalid_replaced == 1);
  CHECK(f.counters.records_filtered == 0);
  CHECK(f.counters.records_delivered == 4);
}

TEST_CASE("governed Fetch with ACLs: partitions of a topic the principal may not read leave with "
          "TOPIC_AUTHORIZATION_FAILED and no records") {
  fixture f(acl_yaml);
  REQUIRE(f.set->acl(principal)->enabled());
  REQUIRE(f.sp->governs_responses(proto::fetch_response::api_key));
  const auto a = make_batch(0, codec::none, {{"k0", order(0, false)}, {"k1", order(1, true)}});
  const auto s = make_batch(0, codec::none, {{"s0", "secret stuff"}});
  const auto plain = make_batch(0, codec::none, {{"p0", "plain"}});
  proto::fetch_response m;
  m.responses.reserve(3);
  auto& to = m.responses.emplace_back();
  to.topic = "orders";
  to.partitions.emplace_back().records = proto::bytes_view(a);
  auto& ts = m.responses.emplace_back();
  ts.topic = "secret";  // an incremental session may return it although the request did not list it
  for (int i = 0; i < 2; ++i) {
    auto& p = ts.partitions.emplace_back();
    p.partition_index = i;
    p.high_watermark = 1;
    p.records = proto::bytes_view(s);
  }
  auto& tp = m.responses.emplace_back();
  tp.topic = "plain";
  tp.partitions.emplace_back().records = proto::bytes_view(plain);

  for (std::int16_t v : {4, 12}) {
    INFO("Fetch v" << v);
    const auto& body = f.body(m, v);
    const auto g = govern(f, body, v);
    INFO(g.error);
    REQUIRE(g.status == rewrite_status::rewritten);
    REQUIRE(g.decoded.responses.size() == 3);
    CHECK(batches_of(*g.decoded.responses[0].partitions.at(0).records).at(0).records ==
          std::vector<seen_record>{{1, "k1", masked_order(1)}});
    const auto& sec = g.decoded.responses[1];
    CHECK(sec.topic == "secret");
    REQUIRE(sec.partitions.size() == 2);
    for (const auto& p : sec.partitions) {
      CHECK(p.error_code == topic_authorization_failed);
      CHECK((!p.records || p.records->empty()));
    }
    const auto pr = *g.decoded.responses[2].partitions.at(0).records;
    CHECK(std::vector<std::byte>(pr.begin(), pr.end()) == plain);
    const auto flat = std::string(proto::as_string(g.flat));
    CHECK(flat.find("secret stuff") == std::string::npos);
  }
}

TEST_CASE("governed Fetch decisions: one records event per governed partition, a denial per refused topic") {
  fixture f(acl_yaml);
  std::vector<std::tuple<kgw::policies::decision_kind, std::string, std::int16_t, std::uint64_t>> events;
  f.decisions.subscribe([&](const kgw::policies::decision& d) {
    events.emplace_back(d.kind, std::string(d.resource), d.error,
                        d.counts[static_cast<std::size_t>(kgw::policies::tally::records_masked)]);
  });
  const auto a = make_batch(0, codec::none, {{"k0", order(0, false)}, {"k1", order(1, true)}});
  const auto s = make_batch(0, codec::none, {{"s0", "secret stuff"}});
  proto::fetch_response m;
  for (const auto* batch : {&a, &s}) {
    auto& t = m.responses.emplace_back();
    t.topic = batch == &a ? "orders" : "secret";  // secret: returned by an incremental session, not readable
    t.partitions.emplace_back().records = proto::bytes_view(*batch);
  }
  const auto g = govern(f, f.body(m, 12), 12);
  REQUIRE(g.status == rewrite_status::rewritten);
  using kind = kgw::policies::decision_kind;
  CHECK(events == decltype(events){{kind::denied, "secret", topic_authorization_failed, 0},
                                   {kind::records, "orders", 0, 1}});
}

TEST_CASE("a Fetch response that does not decode fails (never forwarded)") {
  fixture f;
  proto::fetch_response m;
  auto& to = m.responses.emplace_back();
  to.topic = "orders";
  const auto a = make_batch(0, codec::none, {{"k0", order(0, true)}});
  to.partitions.emplace_back().records = proto::bytes_view(a);
  auto body = f.body(m, 12);
  body.push_back(std::byte{0});  // trailing garbage
  auto g = govern(f, body, 12);
  CHECK_FALSE(g.status);
  CHECK(g.error.find("trailing") != std::string::npos);
  body.resize(body.size() - 10);  // cut inside the records
  g = govern(f, body, 12);
  CHECK_FALSE(g.status);
  CHECK_FALSE(g.error.empty());
}

TEST_CASE("governed Fetch v4+: a partition whose fetched records are only legacy message sets still lets the "
          "consumer move past them") {
  // A log written by pre-0.11 clients (or a broker fetch that returned only such entries, cut at
  // max_bytes) on a topic with a view: the entries are not delivered, but the response must not
  // leave the consumer fetching the same offset forever. What a consumer does with a response:
  // its next fetch offset is one past the last offset of the last entry it got.
  for (std::int16_t v : {4, 11, 12}) {
    INFO("Fetch v" << v);
    fixture f;
    const auto l0 = make_legacy(1, 0, "k0", order(0, true));
    const auto l1 = make_legacy(1, 1, "k1", order(1, true));
    const auto l2 = make_legacy(0, 2, "k2", order(2, true));
    const auto records = concat({&l0, &l1, &l2});
    proto::fetch_response m;
    auto& t = m.responses.emplace_back();
    t.topic = "orders";
    auto& p = t.partitions.emplace_back();
    p.high_watermark = 3;
    p.records = proto::bytes_view(records);

    const auto& body = f.body(m, v);
    const auto g = govern(f, body, v);
    INFO(g.error);
    REQUIRE(g.status == rewrite_status::rewritten);
    const auto& q = g.decoded.responses.at(0).partitions.at(0);
    CHECK(f.counters.legacy_batches_dropped == 3);
    std::int64_t next_fetch = 0;  // where a consumer that fetched at 0 goes next
    std::size_t delivered = 0;
    if (q.records)
      for (const auto& b : batches_of(*q.records)) {
        next_fetch = std::max(next_fetch, b.header.last_offset() + 1);
        for (const auto& r : b.records) delivered += r.offset >= 0 && !b.header.control();  // what a client returns
      }
    CHECK(delivered == 0);
    CHECK(q.error_code == 0);
    CHECK(next_fetch == 3);
  }
}

// Issue 9, defect 8: kafka-python 2.0.2 raises IndexError on a partition whose records field
// holds batches but no record, after it already dropped other partitions' records. Such a field
// starts with a control batch at offset -1 holding one COMMIT marker without a producer id:
// every client skips records below its fetch offset, and the batches after it still end where
// the removed records ended.
TEST_CASE("governed Fetch: a partition left without any record starts with a skip marker no client delivers") {
  for (std::int16_t v : {4, 11, 12}) {
    INFO("Fetch v" << v);
    fixture f;
    const auto a = make_batch(10, codec::lz4, {{"k10", order(10, false)}, {"k11", order(11, false)}});
    const auto b = make_batch(12, codec::none, {{"k12", order(12, false)}});
    const auto p0 = concat({&a, &b});  // nothing kept
    const auto c = make_batch(20, codec::none, {{"k20", order(20, false)}, {"k21", order(21, true)}});
    const auto p1 = concat({&a, &c});  // one record kept
    const auto marker = make_control_batch(30);
    const auto d = make_batch(31, codec::none, {{"k31", order(31, false)}});
    const auto p2 = concat({&marker, &d});  // a transaction marker passes: it is a record
    proto::fetch_response m;
    auto& t = m.responses.emplace_back();
    t.topic = "orders";
    for (const auto* recs : {&p0, &p1, &p2}) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = static_cast<std::int32_t>(t.partitions.size() - 1);
      p.high_watermark = 40;
      p.records = proto::bytes_view(*recs);
    }
    const auto& body = f.body(m, v);
    const auto g = govern(f, body, v);
    INFO(g.error);
    REQUIRE(g.status == rewrite_status::rewritten);
    const auto& parts = g.decoded.responses.at(0).partitions;
    REQUIRE(parts.size() == 3);

    const auto q0 = batches_of(*parts[0].records);
    REQUIRE(q0.size() == 3);
    const auto& skip = q0[0];
    CHECK(skip.header.base_offset == -1);
    CHECK(skip.header.last_offset_delta == 0);
    CHECK(skip.header.control());
    CHECK_FALSE(skip.header.transactional());
    CHECK(skip.header.codec() == codec::none);
    CHECK(skip.header.producer_id == -1);
    CHECK(skip.header.producer_epoch == -1);
    CHECK(skip.header.base_sequence == -1);
    REQUIRE(skip.records.size() == 1);
    CHECK(skip.records[0] == seen_record{-1, std::string("\x00\x00\x00\x01", 4), std::string(6, '\0')});
    // Then the emptied batches, as before: their offsets, no records.
    CHECK(q0[1].header.base_offset == 10);
    CHECK(q0[1].header.last_offset() == 11);
    CHECK(q0[1].records.empty());
    CHECK(q0[2].header.last_offset() == 12);
    CHECK(q0[2].records.empty());

    // A partition with a record left, or with a transaction marker, needs none.
    const auto q1 = batches_of(*parts[1].records);
    REQUIRE(q1.size() == 2);
    CHECK(q1[0].header.base_offset == 10);
    CHECK(q1[1].records == std::vector<seen_record>{{21, "k21", masked_order(21)}});
    const auto q2 = batches_of(*parts[2].records);
    REQUIRE(q2.size() == 2);
    CHECK(q2[0].bytes == marker);
    CHECK(q2[1].header.base_offset == 31);
    CHECK(q2[1].records.empty());
  }
}

TEST_CASE("governed Fetch v0-3 cannot carry v2 batches: legacy entries on a governed topic fail the partition") {
  for (std::int16_t v : {0, 3}) {
    INFO("Fetch v" << v);
    fixture f;
    const auto l0 = make_legacy(1, 0, "k0", order(0, true));
    proto::fetch_response m;
    auto& t = m.responses.emplace_back();
    t.topic = "orders";
    auto& p = t.partitions.emplace_back();
    p.high_watermark = 1;
    p.records = proto::bytes_view(l0);
    const auto g = govern(f, f.body(m, v), v);
    REQUIRE(g.status == rewrite_status::rewritten);
    const auto& q = g.decoded.responses.at(0).partitions.at(0);
    CHECK(q.error_code == 35);  // UNSUPPORTED_VERSION
    CHECK((!q.records || q.records->empty()));
  }
}

TEST_CASE("Fetch v13+ with topic ids the worker has not learnt asks for a lookup, with or without ACLs") {
  auto request = [](std::int16_t v, const proto::uuid& id) {
    proto::fetch_request req;
    auto& t = req.topics.emplace_back();
    t.topic_id = id;
    t.partitions.emplace_back().partition = 0;
    return proto::encode_request(req, v, 7, "c", false).flatten();
  };
  proto::uuid id{};
  id[0] = std::byte{0x42};
  auto info_of = [](std::int16_t v) {
    request_info info;
    info.api_key = proto::fetch_request::api_key;
    info.api_version = info.upstream_version = v;
    return info;
  };
  using action = chain_request::action;
  fixture f;  // views, no ACLs
  const auto body13 = request(13, id);
  const auto first = f.sp->on_request(info_of(13), body13);
  REQUIRE(first.what == action::lookup_topic_ids);
  CHECK(first.unknown_topic_ids == std::vector<proto::uuid>{id});
  // Still unknown after the lookup: forwarded (the response's partitions get UNKNOWN_TOPIC_ID).
  CHECK(f.sp->on_request(info_of(13), body13, true).what == action::forward);
  f.names.learn(id, "orders");
  CHECK(f.sp->on_request(info_of(13), body13).what == action::forward);
  // Before v13 requests name their topics.
  proto::fetch_request by_name;
  by_name.topics.emplace_back().topic = "orders";
  CHECK(f.sp->on_request(info_of(12), proto::encode_request(by_name, 12, 7, "c", false).flatten()).what ==
        action::forward);
  // No views: nothing needs names, nothing is looked up.
  fixture plain(R"(upstream: { bootstrap: [k:9092] }
policies:
  validation:
    - { everyone: true, topics: [orders], require_json: true }
)");
  CHECK(plain.sp->on_request(info_of(13), body13).what == action::forward);
  // With ACLs the authorizer asks the same, as part of authorizing the request.
  fixture acl(acl_yaml);
  proto::uuid other{};
  other[0] = std::byte{0x43};
  CHECK(acl.sp->on_request(info_of(13), request(13, other)).what == action::lookup_topic_ids);
}

TEST_CASE("the shared transform cache: principals whose views decide alike share governed batches, principals whose "
          "views differ never see each other's, a new configuration shares nothing with the old") {
  // ann and ben: the same rules and the same region, so one compiled view. cat: the same rules,
  // but its region makes another filter. dan: another rule (a different mask), same region.
  const std::string yaml = R"(upstream: { bootstrap: [k:9092] }
principals:
  ann: { teams: [marketing], attributes: { region: EU } }
  ben: { teams: [marketing], attributes: { region: EU } }
  cat: { teams: [marketing], attributes: { region: US } }
  dan: { teams: [fraud], attributes: { region: EU } }
policies:
  views:
    - teams: [marketing]
      topics: [orders]
      where: region == principal.region
      mask:
        - { field: email, function: redact }
    - teams: [fraud]
      topics: [orders]
      where: region == principal.region
      mask:
        - { field: email, function: partial, keep_domain: true }
)";
  fixture f(yaml);
  auto rec = [](int id, const char* region) {
    return R"({"id": )" + std::to_string(id) + R"(, "region": ")" + region + R"(", "email": "u)" + std::to_string(id) +
           R"(@example.com"})";
  };
  const auto a = make_batch(0, codec::none, {{"k0", rec(0, "EU")}, {"k1", rec(1, "US")}, {"k2", rec(2, "EU")}});
  const auto b = make_batch(3, codec::zstd, {{"k3", rec(3, "US")}, {"k4", rec(4, "US")}});
  const auto c = make_batch(0, codec::none, {{"k0", rec(10, "EU")}});  // p1, same base offset as a
  const auto p0 = concat({&a, &b});
  proto::fetch_response m;
  auto& t = m.responses.emplace_back();
  t.topic = "orders";
  auto& q0 = t.partitions.emplace_back();
  q0.partition_index = 0;
  q0.high_watermark = 5;
  q0.records = proto::bytes_view(p0);
  auto& q1 = t.partitions.emplace_back();
  q1.partition_index = 1;
  q1.high_watermark = 1;
  q1.records = proto::bytes_view(c);
  const std::int16_t v = 12;
  const auto& body = f.body(m, v);

  // What a principal receives, governed with the given cache (null: none).
  auto governed_as = [&](kgw::policies::policy_set& set, const std::string& who,
                         const std::shared_ptr<kgw::policies::transform_cache>& cache) {
    policy_chain chain(set.chain(who), who, f.names,
                       kgw::policies::decision_origin{&f.decisions, 1, "test", "test", who, "PLAIN"}, cache);
    governed_response out;
    const auto status = chain.on_response(nullptr, {proto::fetch_response::api_key, v, false}, body, f.rw, out);
    INFO((status ? std::string() : status.error()));
    REQUIRE(status == rewrite_status::rewritten);
    auto flat = out.w.flatten();
    return std::string(reinterpret_cast<const char*>(flat.data()), flat.size());
  };
  const std::vector<std::string> who = {"ann", "ben", "cat", "dan"};
  std::map<std::string, std::string> alone;  // each principal's output, governed without a cache
  for (const auto& p : who) alone[p] = governed_as(*f.set, p, nullptr);
  // The views really differ (else the test proves nothing): cat keeps US rows, dan shows domains.
  CHECK(alone["ann"] == alone["ben"]);
  CHECK(alone["ann"] != alone["cat"]);
  CHECK(alone["ann"] != alone["dan"]);
  CHECK(alone["cat"] != alone["dan"]);
  CHECK(alone["ann"].find("***") != std::string::npos);
  CHECK(alone["dan"].find("@example.com") != std::string::npos);

  auto cache = std::make_shared<kgw::policies::transform_cache>(1 << 20);
  auto hits = [&] { return cache->snapshot().hits; };
  CHECK(governed_as(*f.set, "ann", cache) == alone["ann"]);  // 3 batches governed and kept
  CHECK(hits() == 0);
  CHECK(cache->snapshot().entries == 3);
  CHECK(governed_as(*f.set, "ben", cache) == alone["ben"]);  // alike: all 3 from the cache
  CHECK(hits() == 3);
  CHECK(governed_as(*f.set, "cat", cache) == alone["cat"]);  // another region: governed anew
  CHECK(governed_as(*f.set, "dan", cache) == alone["dan"]);  // another rule: governed anew
  CHECK(hits() == 3);
  CHECK(cache->snapshot().entries == 9);
  // In any order, many times: each always gets its own view.
  for (int round = 0; round < 3; ++round)
    for (const auto& p : {"dan", "cat", "ben", "ann"}) CHECK(governed_as(*f.set, p, cache) == alone[p]);
  CHECK(hits() == 3 + 3 * 4 * 3);

  // The batches_shared tally counts what came from the cache, one per batch.
  std::uint64_t shared = 0;
  f.decisions.subscribe([&](const kgw::policies::decision& d) {
    shared += d.counts[static_cast<std::size_t>(kgw::policies::tally::batches_shared)];
  });
  governed_as(*f.set, "ben", cache);
  CHECK(shared == 3);

  // A reload compiles new views: nothing of the old generation is served.
  kgw::policies::policy_set next(f.config);
  const auto before = hits();
  CHECK(governed_as(next, "ann", cache) == alone["ann"]);
  CHECK(hits() == before);
}

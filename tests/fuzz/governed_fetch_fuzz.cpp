// libFuzzer target: the governed Fetch path (gateway/policy_chain.h) for one principal under a
// view on topic `orders`: row filter `keep == true`, masks `email` redact and `phone` remove
// (values that are not JSON dropped, the default). Input: a mode byte, a version byte, a codec
// byte, then
//   mode even: the Fetch response body as upstream sends it (header first, no size);
//   mode odd:  record values, one per line, written as batches of up to three records of that
//              codec into partition 0 of `orders` (by name, or by id from v13).
// Properties, on what the client would receive (the governed body when rewritten, the body as
// received when unchanged; nothing when the chain refuses the response):
// - it decodes to its last byte, as a Fetch response of the same version;
// - every record delivered on `orders` is a v2 batch that decodes, holds a JSON value whose
//   last `keep` member is true, whose every `email` member is "***" and that has no `phone`
//   member (control batches aside); a topic id the gateway cannot name carries no records;
// - mode odd: exactly the records whose value is JSON with `keep` true are delivered, at their
//   offsets (nothing filtered that the view keeps);
// - a chain sharing governed batches through a transform cache (kept across inputs, so it holds
//   batches of earlier ones) answers byte for byte as the chain without one, twice in a row
//   (the second time from the cache): a stale, foreign or corrupt batch is never served.
// Seeds: responses of every Fetch version and codec with kept, filtered, masked and not-JSON
// records (tests/fuzz/seed_writer.cpp).
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/loader.h"
#include "fuzz_check.h"
#include "governed_fetch_input.h"
#include "gateway/config_extensions.h"
#include "gateway/logging.h"
#include "gateway/policy_chain.h"
#include "policies/json/json_doc.h"
#include "policies/policy_set.h"
#include "policies/transform_cache.h"
#include "protocol/fetch.h"
#include "protocol/headers.h"
#include "protocol/record_batch.h"
#include "tests/gateway/test_rewriter.h"

namespace proto = kgw::protocol;
namespace json = kgw::policies::json;
using namespace kgw::gateway;
using kgw::fuzz::require;

namespace {

constexpr const char* principal = "ANONYMOUS";
constexpr const char* policies_yaml = R"(upstream: { bootstrap: [k:9092] }
policies:
  views:
    - everyone: true
      topics: [orders]
      where: keep == true
      mask:
        - { field: email, function: redact }
        - { field: phone, function: remove }
)";

struct fixture : testing::test_rewriter {
  kgw::config::gateway_config config;
  std::unique_ptr<kgw::policies::policy_set> set;
  topic_names names;
  kgw::policies::decision_stream decisions;
  std::unique_ptr<policy_chain> chain;
  std::shared_ptr<kgw::policies::transform_cache> cache = std::make_shared<kgw::policies::transform_cache>(1 << 20);
  std::unique_ptr<policy_chain> cached;  // the same principal's chain, sharing through `cache`
  fixture() {
    // Each refused batch logs a warning, each broker learnt a line: millions of lines would slow the fuzzer down.
    kgw::log::relay().set_level(spdlog::level::err);
    kgw::log::upstream().set_level(spdlog::level::err);
    auto c = kgw::config::load_string(policies_yaml, "fuzz.yaml", config_extensions());
    if (!c) kgw::fuzz::fail("the fuzz policy does not load", c.error());
    config = std::move(*c);
    set = std::make_unique<kgw::policies::policy_set>(config);
    names.learn(kgw::fuzz::orders_topic_id(), "orders");
    chain = std::make_unique<policy_chain>(set->chain(principal), principal, names,
                                           kgw::policies::decision_origin{&decisions, 1, "fuzz", "fuzz", principal, "PLAIN"});
    cached = std::make_unique<policy_chain>(set->chain(principal), principal, names,
                                            kgw::policies::decision_origin{&decisions, 1, "fuzz", "fuzz", principal, "PLAIN"},
                                            cache);
  }
};

bool keeps(std::string_view value) {
  static json::json_doc doc;
  if (!doc.parse(value)) return false;
  const auto k = doc.type(0) == json::json_type::object ? doc.find_member(0, "keep") : json::npos;
  return k != json::npos && doc.type(k) == json::json_type::boolean && doc.boolean(k);
}

// The records a client receives on `orders`, checked against the view; their offsets.
std::set<std::int64_t> check_delivered(const proto::fetch_response& m, const topic_names& names) {
  std::set<std::int64_t> offsets;
  std::vector<proto::records_entry> entries;
  proto::decoded_batch d;
  json::json_doc doc;
  for (const auto& t : m.responses) {
    const std::string* by_id = t.topic_id == proto::uuid{} ? nullptr : names.name(t.topic_id);
    const bool unnamed = t.topic_id != proto::uuid{} && !by_id && t.topic.empty();
    if (unnamed)
      for (const auto& p : t.partitions)
        require(!p.records || p.records->empty(), "records delivered for a topic id the gateway cannot name");
    if (t.topic != "orders" && !(by_id && *by_id == "orders")) continue;
    for (const auto& p : t.partitions) {
      if (!p.records) continue;
      proto::split_records(*p.records, entries);
      for (const auto& e : entries) {
        require(e.what == proto::records_entry::kind::batch_v2, "a legacy or truncated entry delivered on a governed topic");
        const auto ok = proto::decode_batch(e.bytes, d, 1u << 26);
        require(ok.has_value(), "a batch delivered on a governed topic does not decode", ok ? "" : ok.error());
        if (d.header.control()) continue;
        for (const auto& r : d.records) {
          require(r.value.has_value(), "a null value delivered through a row filter");
          const std::string_view v = proto::as_string(*r.value);
          require(doc.parse(v).has_value(), "a value that is not JSON delivered on a governed topic", v);
          require(keeps(v), "a record the row filter removes was delivered", v);
          for (std::uint32_t c = doc.first_child(0); c != json::npos; c = doc.node(c).next) {
            require(!doc.key_equals(c, "phone"), "a removed field was delivered", v);
            if (doc.key_equals(c, "email")) require(doc.text(c) == "\"***\"", "an e-mail was delivered unmasked", v);
          }
          offsets.insert(d.header.base_offset + r.offset_delta);
        }
      }
    }
  }
  return offsets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  static fixture f;
  const bool structured = data[0] % 2 == 1;
  const auto v = static_cast<std::int16_t>(data[1] % (proto::fetch_response::max_version + 1));
  const auto codec = static_cast<proto::compression_codec>(data[2] % 5);
  std::deque<std::vector<std::byte>> keep;
  std::set<std::int64_t> expected;
  proto::bytes_view body;
  if (structured) {
    const auto values = kgw::fuzz::split_lines(std::string_view(reinterpret_cast<const char*>(data + 3), size - 3));
    for (std::size_t i = 0; i < values.size(); ++i)
      if (keeps(values[i])) expected.insert(static_cast<std::int64_t>(i));
    body = keep.emplace_back(kgw::fuzz::orders_fetch_response(v, codec, values));
    require(!body.empty(), "a batch of the input does not encode");
  } else {
    body = keep.emplace_back(reinterpret_cast<const std::byte*>(data + 3), reinterpret_cast<const std::byte*>(data + size));
  }

  governed_response out;
  const auto st = f.chain->on_response(nullptr, {proto::api::fetch, v, false}, body, f.rw, out);
  if (!st) {
    require(!structured, "the chain refused a well-formed Fetch response", st.error());
    governed_response shared;
    require(!f.cached->on_response(nullptr, {proto::api::fetch, v, false}, body, f.rw, shared),
            "the chain with the transform cache took a response the chain without it refused");
    return 0;
  }
  std::vector<std::byte> sent;
  const proto::bytes_view received = *st == rewrite_status::rewritten ? proto::bytes_view(sent = out.w.flatten()) : body;
  proto::reader r(received);
  proto::response_header h;
  h.decode(r, proto::response_header_version(proto::api::fetch, v));
  proto::fetch_response m;
  m.decode(r, v);
  require(r.ok() && r.remaining() == 0, "what the client receives does not decode as a Fetch response",
          r.ok() ? "trailing bytes" : r.error().what);
  const auto delivered = check_delivered(m, f.names);
  if (structured) require(delivered == expected, "the view delivered other records than it keeps");
  for (int pass = 0; pass < 2; ++pass) {
    governed_response shared;
    const auto sst = f.cached->on_response(nullptr, {proto::api::fetch, v, false}, body, f.rw, shared);
    require(sst.has_value(), "the chain with the transform cache refused what the chain without it took",
            sst ? "" : sst.error());
    require(*sst == *st, "the chain with the transform cache rewrote differently");
    if (*sst == rewrite_status::rewritten)
      require(shared.w.flatten() == sent, "the chain with the transform cache delivered other bytes");
    f.cached->recycle(shared);
  }
  f.chain->recycle(out);
  return 0;
}

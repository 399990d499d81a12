// request_walk: the client id read from every request header version, walk_produce over every
// sample Produce request v0-11 (each variant) reporting exactly the decoded message's partitions
// with records, in order, and walk_fetch over every sample Fetch request v0-17 reporting each
// partition's fetch offset; cut bodies fail instead of being walked past.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "protocol/api_keys.h"
#include "protocol/fetch.h"
#include "protocol/headers.h"
#include "protocol/produce.h"
#include "protocol/request_walk.h"
#include "protocol/samples.h"
#include "protocol/testing/sample_values.h"

namespace proto = kgw::protocol;

namespace {

std::vector<std::byte> produce_body(const proto::produce_request& m, std::int16_t v, std::optional<std::string_view> client) {
  proto::writer w;
  proto::request_header h;
  h.request_api_key = proto::api::produce;
  h.request_api_version = v;
  h.correlation_id = 7;
  h.client_id = client;
  h.encode(w, proto::request_header_version(proto::api::produce, v));
  m.encode(w, v);
  return w.flatten();
}

}  // namespace

TEST_CASE("walk_produce reports every partition's records of every sample Produce request", "[protocol][request_walk]") {
  for (std::int16_t v = 0; v <= proto::produce_request::max_version; ++v) {
    for (int variant = 0; variant < proto::testing::sample_variants; ++variant) {
      INFO("v" << v << " variant " << variant);
      proto::produce_request m;
      proto::testing::fill_sample(m, v, variant);
      const auto body = produce_body(m, v, "app-1");
      std::vector<std::pair<std::string, std::string>> expected, seen;
      for (const auto& t : m.topic_data)
        for (const auto& p : t.partition_data)
          if (p.records && !p.records->empty())
            expected.emplace_back(std::string(t.name), std::string(proto::as_string(*p.records)));
      const auto walked = proto::walk_produce(v, body, [&](std::string_view topic, proto::bytes_view records) {
        seen.emplace_back(std::string(topic), std::string(proto::as_string(records)));
      });
      REQUIRE(walked.has_value());
      CHECK(seen == expected);
      const auto id = proto::request_client_id(body);
      REQUIRE(id.has_value());
      CHECK(*id == std::optional<std::string_view>("app-1"));
      // Cut anywhere before the end: the walk fails (never reads past the body).
      for (std::size_t n = 0; n + 1 < body.size(); n += 3)
        CHECK_FALSE(proto::walk_produce(v, proto::bytes_view(body).subspan(0, n), [](auto, auto) {}).has_value());
    }
  }
  proto::produce_request m;
  const auto no_client = produce_body(m, 9, std::nullopt);
  const auto id = proto::request_client_id(no_client);
  REQUIRE(id.has_value());
  CHECK_FALSE(id->has_value());
}

TEST_CASE("walk_fetch reports every partition's fetch offset of every sample Fetch request", "[protocol][request_walk]") {
  for (std::int16_t v = 0; v <= proto::fetch_request::max_version; ++v) {
    for (int variant = 0; variant < proto::testing::sample_variants; ++variant) {
      INFO("v" << v << " variant " << variant);
      proto::fetch_request m;
      proto::testing::fill_sample(m, v, variant);
      proto::writer w;
      proto::request_header h;
      h.request_api_key = proto::api::fetch;
      h.request_api_version = v;
      h.client_id = "c";
      h.encode(w, proto::request_header_version(proto::api::fetch, v));
      m.encode(w, v);
      const auto body = w.flatten();
      using entry = std::tuple<std::string, proto::uuid, std::int32_t, std::int64_t>;
      std::vector<entry> expected, seen;
      for (const auto& t : m.topics)
        for (const auto& p : t.partitions)
          expected.emplace_back(v < 13 ? std::string(t.topic) : std::string(), v >= 13 ? t.topic_id : proto::uuid{},
                                p.partition, p.fetch_offset);
      REQUIRE(proto::walk_fetch(v, body, [&](std::string_view topic, const proto::uuid& id, std::int32_t p,
                                             std::int64_t offset) {
                seen.emplace_back(std::string(topic), id, p, offset);
              }).has_value());
      CHECK(seen == expected);
    }
  }
}

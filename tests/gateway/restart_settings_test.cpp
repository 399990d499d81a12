// restart_only_changes: principals, policies and the log level change live; every other
// setting is named as needing a restart.
#include <catch2/catch.hpp>

#include "gateway/restart_settings.h"
#include "policies/acl/acl_config.h"

using kgw::gateway::restart_only_changes;

namespace {
kgw::config::gateway_config base() {
  kgw::config::gateway_config c;
  c.source = "a.yaml";
  c.upstream_bootstrap.push_back({"127.0.0.1", 9092});
  return c;
}
}  // namespace

TEST_CASE("restart settings: what reloads live is not reported") {
  auto next = base();
  next.source = "b.yaml";
  next.log_level = "debug";
  next.principals["bob"].name = "bob";
  next.policies.edit<kgw::policies::acl_section>().rules.emplace_back();
  next.policies.paths.push_back("policies.d");
  CHECK(restart_only_changes(base(), next).empty());
}

TEST_CASE("restart settings: each restart-only setting is named") {
  struct change {
    const char* name;
    void (*apply)(kgw::config::gateway_config&);
  };
  const change changes[] = {
      {"listeners", [](kgw::config::gateway_config& c) { c.listen.port = 1; }},
      {"listeners", [](kgw::config::gateway_config& c) { c.advertised_host = "gw.example.com"; }},
      {"listeners", [](kgw::config::gateway_config& c) { c.listeners.emplace_back().name = "x"; }},
      {"gateway.workers", [](kgw::config::gateway_config& c) { c.workers = 7; }},
      {"admin", [](kgw::config::gateway_config& c) { c.admin.emplace(); }},
      {"gateway.max_frame_size", [](kgw::config::gateway_config& c) { c.max_frame_bytes = 1; }},
      {"gateway.max_buffered_requests", [](kgw::config::gateway_config& c) { c.max_buffered_request_bytes = 1; }},
      {"gateway.idle_timeout", [](kgw::config::gateway_config& c) { c.idle_timeout = std::chrono::seconds(1); }},
      {"gateway.transform_cache", [](kgw::config::gateway_config& c) { c.transform_cache_bytes = 0; }},
      {"gateway.upstream_connect_timeout",
       [](kgw::config::gateway_config& c) { c.upstream_connect_timeout = std::chrono::seconds(1); }},
      {"upstream brokers", [](kgw::config::gateway_config& c) { c.upstream_bootstrap[0].port = 9093; }},
      {"upstream brokers", [](kgw::config::gateway_config& c) { c.embedded.emplace(); }},
      {"upstream security", [](kgw::config::gateway_config& c) { c.upstream_sasl.emplace(); }},
  };
  for (const auto& ch : changes) {
    auto next = base();
    ch.apply(next);
    const auto got = restart_only_changes(base(), next);
    INFO(ch.name);
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind(ch.name, 0) == 0);
  }
}

#include <catch2/catch.hpp>
#include <filesystem>

#include "config/loader.h"
#include "gateway/security/config_checks.h"
#include "policies/registry.h"

using kgw::config::load_string;

TEST_CASE("full gateway config loads with every key") {
  auto c = load_string(R"(
gateway:
  listen: 0.0.0.0:29092
  advertised_host: gw.example.com
  broker_ports: 29093-29110
  workers: 4
  max_frame_size: 8MiB
  idle_timeout: 30s
  upstream_connect_timeout: 500ms
  request_read_timeout: 5s
  response_write_timeout: 20s
  failed_authentication_delay: 250ms
  auth_threads: 2
  max_connections: 5000
  transform_cache: 64MiB
  log_level: debug
upstream:
  bootstrap: [kafka-1:9092, "kafka-2:9092"]
)",
                       "gw.yaml");
  REQUIRE(c);
  CHECK(c->listen.host == "0.0.0.0");
  CHECK(c->listen.port == 29092);
  CHECK(c->advertised_host == "gw.example.com");
  CHECK(c->broker_port_first == 29093);
  CHECK(c->broker_port_last == 29110);
  CHECK(c->workers == 4);
  CHECK(c->max_frame_bytes == 8u * 1024 * 1024);
  CHECK(c->idle_timeout == std::chrono::seconds(30));
  CHECK(c->upstream_connect_timeout == std::chrono::milliseconds(500));
  CHECK(c->request_read_timeout == std::chrono::seconds(5));
  CHECK(c->response_write_timeout == std::chrono::seconds(20));
  CHECK(c->failed_authentication_delay == std::chrono::milliseconds(250));
  CHECK(c->auth_threads == 2);
  CHECK(c->max_connections == 5000);
  CHECK(c->transform_cache_bytes == 64u * 1024 * 1024);
  CHECK(c->log_level == "debug");
  REQUIRE(c->upstream_bootstrap.size() == 2);
  CHECK(c->upstream_bootstrap[1].host == "kafka-2");
  CHECK(c->upstream_bootstrap[1].port == 9092);
  CHECK_FALSE(c->embedded);
}

TEST_CASE("defaults and a comma-separated bootstrap string") {
  auto c = load_string("upstream:\n  bootstrap: a:1,b:2\n", "x.yaml");
  REQUIRE(c);
  CHECK(c->listen.port == 19092);
  CHECK(c->broker_port_first == 19093);
  CHECK(c->broker_port_last == 19120);
  CHECK(c->workers == 0);
  CHECK(c->max_frame_bytes == 100u * 1024 * 1024);
  REQUIRE(c->upstream_bootstrap.size() == 2);
  CHECK(c->upstream_bootstrap[0].str() == "a:1");
}

TEST_CASE("embedded upstream") {
  auto c = load_string(R"(
upstream:
  embedded: { brokers: 3, topics: [ { name: customers, partitions: 6 }, { name: orders } ] }
)",
                       "e.yaml");
  REQUIRE(c);
  REQUIRE(c->embedded);
  CHECK(c->embedded->brokers == 3);
  REQUIRE(c->embedded->topics.size() == 2);
  CHECK(c->embedded->topics[0].name == "customers");
  CHECK(c->embedded->topics[0].partitions == 6);
  CHECK(c->embedded->topics[1].partitions == 1);
}

namespace {
std::string error_of(const std::string& yaml) {
  auto c = load_string(yaml, "bad.yaml");
  REQUIRE_FALSE(c);
  return c.error();
}
}  // namespace

TEST_CASE("errors carry file:line:col") {
  CHECK(error_of("gateway:\n  listen: 127.0.0.1\nupstream:\n  bootstrap: [a:1]\n") ==
        "bad.yaml:2:11: gateway.listen must be host:port, got '127.0.0.1'");
  CHECK(error_of("gateway:\n  lisen: 1.2.3.4:5\nupstream:\n  bootstrap: [a:1]\n")
            .starts_with("bad.yaml:2:3: unknown key 'lisen' in 'gateway'"));
  CHECK(error_of("upstream:\n  bootstrap: [a:1]\n  embedded: {brokers: 1}\n") ==
        "bad.yaml:3:13: upstream: give either 'bootstrap' or 'embedded', not both");
  CHECK(error_of("gateway:\n  workers: many\nupstream:\n  bootstrap: [a:1]\n") ==
        "bad.yaml:2:12: gateway.workers must be an integer, got 'many'");
  CHECK(error_of("gateway:\n  broker_ports: 20-10\nupstream:\n  bootstrap: [a:1]\n") ==
        "bad.yaml:2:17: gateway.broker_ports must be a range FIRST-LAST of ports, got '20-10'");
  CHECK(error_of("gateway:\n  transform_cache: lots\nupstream:\n  bootstrap: [a:1]\n")
            .starts_with("bad.yaml:2:20: gateway.transform_cache"));
  CHECK(error_of("gateway:\n  idle_timeout: 5 parsecs\nupstream:\n  bootstrap: [a:1]\n")
            .starts_with("bad.yaml:2:17: gateway.idle_timeout"));
  CHECK(error_of("gateway:\n  listen: 127.0.0.1:19095\nupstream:\n  bootstrap: [a:1]\n") ==
        "bad.yaml:2:11: gateway.listen port must not be inside gateway.broker_ports");
  CHECK(error_of("gateway:\n  idle_timeout: 1s\n  failed_authentication_delay: 2s\nupstream:\n  bootstrap: [a:1]\n") ==
        "bad.yaml:3:32: gateway.failed_authentication_delay must be shorter than gateway.idle_timeout");
  CHECK(error_of("gateway:\n  max_connections: 0\nupstream:\n  bootstrap: [a:1]\n")
            .starts_with("bad.yaml:2:20: gateway.max_connections"));
  CHECK(error_of("gateway: {}\n") == "bad.yaml:1:1: missing 'upstream' section");
  CHECK(error_of("upstream:\n  bootstrap: [a:99999]\n") == "bad.yaml:2:15: upstream.bootstrap entry has an invalid port in 'a:99999'");
  // YAML syntax errors too.
  CHECK(error_of("gateway:\n  listen: [unclosed\n").starts_with("bad.yaml:"));
  CHECK(error_of("").starts_with("bad.yaml:1:1: empty configuration"));
}

TEST_CASE("missing file is an error, shipped examples are valid") {
  auto missing = kgw::config::load_file("/nonexistent/gw.yaml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "/nonexistent/gw.yaml:1:1: cannot open '/nonexistent/gw.yaml': No such file or directory");
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(KGW_SOURCE_DIR) + "/config/examples")) {
    if (e.path().extension() != ".yaml") continue;
    // identity.yaml names certificate and key files that are not shipped; it is loaded with
    // stand-ins in security_config_test.cpp.
    if (e.path().filename() == "identity.yaml") continue;
    // As the gateway reads them: every identity check and policy section reader.
    auto with = kgw::security::config_checks();
    with.policy_sections = kgw::policies::section_readers();
    auto c = kgw::config::load_file(e.path().string(), with);
    INFO(e.path().string());
    CHECK(c.has_value());
    if (!c) FAIL(c.error());
    ++n;
  }
  CHECK(n >= 2);
}

TEST_CASE("admin listener: off unless configured, loopback by default, strict") {
  CHECK_FALSE(load_string("upstream: { bootstrap: [a:1] }\n", "x.yaml")->admin);
  auto plain = load_string("upstream: { bootstrap: [a:1] }\nadmin:\n", "x.yaml");
  REQUIRE(plain);
  REQUIRE(plain->admin);
  CHECK(plain->admin->listen.str() == "127.0.0.1:9644");
  CHECK(plain->admin->bearer_token.empty());
  CHECK(plain->admin->max_principals == 100);
  ::setenv("KGW_TEST_ADMIN_TOKEN", "s3cret\n", 1);
  auto full = load_string(R"(
upstream: { bootstrap: [a:1] }
admin:
  listen: 0.0.0.0:9100
  bearer_token: { env: KGW_TEST_ADMIN_TOKEN }
  max_principals: 5
  max_topics: 7
)",
                          "x.yaml");
  REQUIRE(full);
  CHECK(full->admin->listen.str() == "0.0.0.0:9100");
  CHECK(full->admin->bearer_token == "s3cret");  // the trailing newline of a file or variable goes
  CHECK(full->admin->max_principals == 5);
  CHECK(full->admin->max_topics == 7);
  CHECK(error_of("upstream: { bootstrap: [a:1] }\nadmin:\n  port: 1\n").starts_with("bad.yaml:3:3: unknown key 'port' in 'admin'"));
  CHECK(error_of("upstream: { bootstrap: [a:1] }\nadmin:\n  listen: 127.0.0.1:19100\n") ==
        "bad.yaml:3:11: admin.listen port 19100 is one of listener 'default''s ports");
  CHECK(error_of("upstream: { bootstrap: [a:1] }\nadmin:\n  max_topics: 0\n").starts_with("bad.yaml:3:15: admin.max_topics"));
}

// The identity parts of the configuration: listeners, principals, upstream security, secrets.
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "gateway/security/config_checks.h"
#include "gateway/security/scram.h"
#include "tests/support/jwt_test_signer.h"

using kgw::config::load_file;
using kgw::config::load_string;
namespace fs = std::filesystem;

namespace {

// A directory with a config file and the files it refers to; removed afterwards.
struct config_dir {
  fs::path dir = fs::temp_directory_path() / ("kgw-cfg-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  config_dir() { fs::create_directories(dir); }
  ~config_dir() { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return dir / name;
  }
  static inline int counter = 0;
};

std::string error_of(const std::string& yaml) {
  auto c = load_string(yaml, "sec.yaml", kgw::security::config_checks());
  REQUIRE_FALSE(c);
  return c.error();
}

const std::string upstream = "upstream:\n  bootstrap: [k:9092]\n";

}  // namespace

TEST_CASE("listeners, principals and upstream security load, secrets from files and environment") {
  config_dir d;
  d.write("tls.pem", "CERT");
  d.write("tls.key", "KEY");
  d.write("ca.pem", "CA");
  const auto alice = kgw::security::to_stored_form(
      kgw::security::make_scram_credential(kgw::security::scram_mechanism::sha512, "alice-secret"));
  const auto bob = kgw::security::to_stored_form(
      kgw::security::make_scram_credential(kgw::security::scram_mechanism::sha256, "bob-secret"));
  d.write("bob.scram", bob + "\n");
  kgw::testing::jwt_test_signer signer(kgw::testing::jwt_test_signer::algorithm::es256);
  d.write("jwks.json", signer.jwks_json());
  ::setenv("KGW_TEST_UPSTREAM_PASSWORD", "svc-password", 1);
  ::setenv("KGW_TEST_KEY_PASSWORD", "kp", 1);
  const auto path = d.write("gw.yaml", R"(
gateway:
  advertised_host: gw.example.com
listeners:
  - name: teams
    listen: 0.0.0.0:9093
    broker_ports: 9094-9120
    security_protocol: SASL_SSL
    tls:
      certificate: tls.pem
      key: { file: tls.key }
      key_password: { env: KGW_TEST_KEY_PASSWORD }
      ca: ca.pem
      client_auth: requested
      min_version: TLSv1.3
      curves: X25519:P-256
    sasl:
      mechanisms: [SCRAM-SHA-512, PLAIN, OAUTHBEARER]
      oauthbearer: { jwks: jwks.json, issuer: https://idp, audience: [kafka, other], principal_claim: preferred_username }
      auth_timeout: 5s
    principal_mapping_rules: ["RULE:^CN=([^,]+).*$/$1/L", DEFAULT]
    max_connections: 2000
  - name: sidecar
    listen: 127.0.0.1:19092
    advertised_host: 127.0.0.1
    broker_ports: 19093-19100
principals:
  alice:
    teams: [sales, emea]
    attributes: { territory: US-WEST, tier: gold }
    credentials: [ ")" + alice + R"(" ]
  bob:
    credentials: [ { file: bob.scram } ]
  carol:
upstream:
  bootstrap: [k1:9093]
  security_protocol: SASL_SSL
  tls: { ca: ca.pem, verify_hostname: false, server_name: kafka.internal }
  sasl: { mechanism: SCRAM-SHA-512, username: gateway, password: { env: KGW_TEST_UPSTREAM_PASSWORD } }
)");
  auto c = load_file(path.string());
  REQUIRE(c);
  REQUIRE(c->listeners.size() == 2);
  const auto& t = c->listeners[0];
  CHECK(t.name == "teams");
  CHECK(t.protocol == kgw::config::security_protocol::sasl_ssl);
  CHECK(t.advertised_host == "gw.example.com");  // inherited from gateway.advertised_host
  CHECK(t.broker_port_first == 9094);
  REQUIRE(t.tls);
  CHECK(t.tls->certificate_pem == "CERT");
  CHECK(t.tls->key_pem == "KEY");
  CHECK(t.tls->key_password == "kp");
  CHECK(t.tls->ca_pem == "CA");
  CHECK(t.tls->client_auth == kgw::config::client_auth_mode::requested);
  CHECK(t.tls->min_version == "TLSv1.3");
  CHECK(t.tls->curves == "X25519:P-256");
  REQUIRE(t.sasl);
  CHECK(t.sasl->mechanisms == std::vector<std::string>{"SCRAM-SHA-512", "PLAIN", "OAUTHBEARER"});
  REQUIRE(t.sasl->oauthbearer);
  CHECK(t.sasl->oauthbearer->jwks_json == signer.jwks_json());
  CHECK(t.sasl->oauthbearer->audiences == std::vector<std::string>{"kafka", "other"});
  CHECK(t.sasl->oauthbearer->principal_claim == "preferred_username");
  CHECK(t.sasl->auth_timeout == std::chrono::seconds(5));
  CHECK(t.principal_mapping_rules.size() == 2);
  CHECK(t.max_connections == 2000);
  const auto& s = c->listeners[1];
  CHECK(s.protocol == kgw::config::security_protocol::plaintext);
  CHECK_FALSE(s.max_connections);
  CHECK_FALSE(s.tls);
  CHECK_FALSE(s.sasl);

  REQUIRE(c->principals.size() == 3);
  const auto& a = c->principals.at("alice");
  CHECK(a.teams == std::vector<std::string>{"sales", "emea"});
  CHECK(a.attributes.at("territory") == "US-WEST");
  CHECK(a.credentials == std::vector<std::string>{alice});
  CHECK(c->principals.at("bob").credentials == std::vector<std::string>{bob});  // newline from the file dropped
  CHECK(c->principals.at("carol").credentials.empty());

  CHECK(c->upstream_protocol == kgw::config::security_protocol::sasl_ssl);
  REQUIRE(c->upstream_tls);
  CHECK(c->upstream_tls->ca_pem == "CA");
  CHECK_FALSE(c->upstream_tls->verify_hostname);
  CHECK(c->upstream_tls->server_name == "kafka.internal");
  REQUIRE(c->upstream_sasl);
  CHECK(c->upstream_sasl->password == "svc-password");
  CHECK(c->effective_listeners().size() == 2);
}

TEST_CASE("the one-listener shorthand still works and becomes a PLAINTEXT listener") {
  auto c = load_string("gateway:\n  listen: 127.0.0.1:9000\n  broker_ports: 9001-9010\n" + upstream, "x.yaml");
  REQUIRE(c);
  auto ls = c->effective_listeners();
  REQUIRE(ls.size() == 1);
  CHECK(ls[0].listen.port == 9000);
  CHECK(ls[0].broker_port_last == 9010);
  CHECK(ls[0].protocol == kgw::config::security_protocol::plaintext);
}

TEST_CASE("security configuration errors point at the offending line") {
  const std::string listener_head = "listeners:\n  - name: a\n    listen: 127.0.0.1:9000\n    broker_ports: 9001-9010\n";
  CHECK(error_of(listener_head + "    security_protocol: SSL\n" + upstream) ==
        "sec.yaml:2:5: listener 'a' uses SSL and needs a 'tls' section");
  CHECK(error_of(listener_head + "    security_protocol: TLS\n" + upstream) ==
        "sec.yaml:5:24: listener 'a' security_protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, got 'TLS'");
  CHECK(error_of(listener_head + "    security_protocol: SASL_PLAINTEXT\n    sasl: { mechanisms: [GSSAPI] }\n" + upstream)
            .starts_with("sec.yaml:6:25: listener 'a' sasl.mechanisms: unknown mechanism 'GSSAPI'"));
  CHECK(error_of(listener_head + "    security_protocol: SASL_PLAINTEXT\n    sasl: { mechanisms: [OAUTHBEARER] }\n" +
                 upstream) == "sec.yaml:6:11: listener 'a' sasl: OAUTHBEARER needs an 'oauthbearer' section with 'jwks'");
  CHECK(error_of(listener_head + "    sasl: { mechanisms: [PLAIN] }\n" + upstream) ==
        "sec.yaml:5:11: listener 'a' has a 'sasl' section but security_protocol is PLAINTEXT");
  CHECK(error_of(listener_head + "    security_protocol: SSL\n    tls: { certificate: /nonexistent/c.pem, key: k }\n" +
                 upstream) == "sec.yaml:6:25: listener 'a' tls.certificate: cannot open '/nonexistent/c.pem': No such file or directory");
  CHECK(error_of(listener_head + "  - name: b\n    listen: 127.0.0.1:9005\n    broker_ports: 9100-9110\n" + upstream) ==
        "sec.yaml:6:13: listener 'b': a listen port is inside the other listener's broker_ports ('a')");
  CHECK(error_of(listener_head + "  - name: a\n    listen: 127.0.0.1:9200\n    broker_ports: 9100-9110\n" + upstream) ==
        "sec.yaml:5:5: listener name 'a' is used twice");
  CHECK(error_of("gateway:\n  listen: 127.0.0.1:1\n" + listener_head + upstream).starts_with(
      "sec.yaml:2:11: gateway.listen and gateway.broker_ports are the one-listener shorthand"));
  CHECK(error_of("principals:\n  alice:\n    credentials: [ \"SCRAM-SHA-512:nonsense\" ]\n" + upstream)
            .starts_with("sec.yaml:3:20: principal 'alice' credential: "));
  CHECK(error_of("principals:\n  alice:\n    credentials: [ { env: KGW_TEST_NOT_SET_ANYWHERE } ]\n" + upstream) ==
        "sec.yaml:3:27: principal 'alice' credential: environment variable KGW_TEST_NOT_SET_ANYWHERE is not set");
  CHECK(error_of("principals:\n  alice: { team: [x] }\n" + upstream).starts_with(
      "sec.yaml:2:12: unknown key 'team' in principal 'alice'"));
  CHECK(error_of("upstream:\n  embedded: { brokers: 1 }\n  security_protocol: SSL\n") ==
        "sec.yaml:3:22: the embedded broker speaks PLAINTEXT only");
  CHECK(error_of(upstream + "  security_protocol: SASL_PLAINTEXT\n  sasl: { mechanism: GSSAPI, username: u, password: p }\n") ==
        "sec.yaml:4:22: upstream.sasl.mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
  CHECK(error_of(upstream + "  security_protocol: SASL_SSL\n") == "sec.yaml:2:3: upstream uses SASL_SSL and needs a 'sasl' section");
  CHECK(error_of(listener_head + "    security_protocol: SSL\n    tls: { certificate: /etc/hostname, key: /etc/hostname, client_auth: required }\n" + upstream) ==
        "sec.yaml:6:73: listener 'a' tls.client_auth required needs 'ca' to verify client certificates");
  CHECK(error_of(listener_head + "    principal_mapping_rules: [DEFAULT]\n" + upstream) ==
        "sec.yaml:5:30: listener 'a': principal_mapping_rules apply to TLS client certificates only");
}

TEST_CASE("the shipped identity example loads once the files it names exist") {
  config_dir d;
  fs::create_directories(d.dir / "tls");
  fs::create_directories(d.dir / "secrets");
  fs::copy_file(fs::path(KGW_SOURCE_DIR) / "config/examples/identity.yaml", d.dir / "identity.yaml");
  for (const char* f : {"tls/gateway.pem", "tls/gateway.key", "tls/ca.pem", "tls/cluster-ca.pem"}) d.write(f, "PEM");
  kgw::testing::jwt_test_signer signer(kgw::testing::jwt_test_signer::algorithm::rs256);
  d.write("tls/jwks.json", signer.jwks_json());
  const auto cred = kgw::security::to_stored_form(
      kgw::security::make_scram_credential(kgw::security::scram_mechanism::sha512, "alice-secret"));
  d.write("secrets/alice.scram", cred + "\n");
  ::setenv("KGW_MARKETING_CREDENTIAL", cred.c_str(), 1);
  ::setenv("KGW_UPSTREAM_PASSWORD", "x", 1);
  auto c = load_file((d.dir / "identity.yaml").string());
  if (!c) FAIL(c.error());
  CHECK(c->listeners.size() == 3);
  CHECK(c->principals.at("alice").attributes.at("territory") == "US-WEST");
  CHECK(c->principals.at("marketing").credentials == std::vector<std::string>{cred});
  CHECK(c->upstream_sasl->username == "kafka-gateway");
  ::unsetenv("KGW_MARKETING_CREDENTIAL");
  auto missing = load_file((d.dir / "identity.yaml").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("environment variable KGW_MARKETING_CREDENTIAL is not set") != std::string::npos);
}

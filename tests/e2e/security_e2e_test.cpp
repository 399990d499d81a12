// End-to-end identity: real clients (librdkafka in-process, kcat, kafka-python) authenticate to
// the gateway with TLS, mTLS and SASL (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER); the gateway
// derives the principal, which each test asserts from the gateway's own record of it (so a test
// fails if authentication were skipped). Wrong credentials must fail in the client with an
// authentication error and establish no identity. Two chained gateways test the upstream side:
// the outer one logs in to the inner one over SASL_SSL with its service credentials.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "config/gateway_config.h"
#include "gateway/gateway.h"
#include "protocol/api_versions.h"
#include "protocol/headers.h"
#include "protocol/metadata.h"
#include "protocol/frames.h"
#include "protocol/sasl_handshake.h"
#include "tests/e2e/broker_contents.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/secure_environment.h"
#include "tests/e2e/subprocess.h"

namespace kgw::e2e {
namespace proto = kgw::protocol;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 3;

std::set<auth_event> events_on(const secure_environment& env, const std::string& listener) {
  std::set<auth_event> out;
  for (const auto& e : env.auth_events())
    if (e.listener == listener) out.insert(e);
  return out;
}

settings sasl_settings(const secure_environment& env, const std::string& protocol, const std::string& mechanism,
                       const std::string& user, const std::string& password) {
  settings s{{"security.protocol", protocol}, {"sasl.mechanisms", mechanism}};
  if (mechanism != "OAUTHBEARER") {
    s.emplace_back("sasl.username", user);
    s.emplace_back("sasl.password", password);
  }
  if (protocol == "SASL_SSL" || protocol == "SSL") s.emplace_back("ssl.ca.location", env.pki().ca_cert().string());
  return s;
}

bool contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Produces `n` records through `bootstrap` with `extra`, reads the topic back through the same
// listener, and checks both against what the broker holds.
void round_trip(secure_environment& env, const std::string& bootstrap, const settings& extra, const std::string& topic,
                const std::string& prefix, int n) {
  const auto deadline = clock::now() + 40s;
  producer p(bootstrap, extra);
  auto produced = p.produce(topic, keyed_payloads(prefix, n), deadline);
  INFO(joined(p.errors()) << joined(p.client_errors()));
  REQUIRE(produced.size() == static_cast<std::size_t>(n));

  consumer c(bootstrap, "", extra);
  c.assign_all(topic, partitions);
  std::set<record> got;
  consumer* cs[] = {&c};
  poll_until(cs, [&](std::size_t, record&& r) { got.insert(std::move(r)); },
             [&] { return got.size() >= produced.size(); }, deadline);
  const auto stored = read_from_broker(*env.cluster(), topic, partitions, deadline);
  REQUIRE(stored.error.empty());
  CHECK(got == std::set<record>(stored.records.begin(), stored.records.end()));
  CHECK(got == std::set<record>(produced.begin(), produced.end()));
}

// A producer with bad credentials: librdkafka must report an authentication error (not a
// timeout), and nothing may be delivered.
std::vector<std::string> failed_login(const std::string& bootstrap, const settings& extra) {
  producer p(bootstrap, extra);
  auto delivered = p.produce("sec", keyed_payloads("nope", 1), clock::now() + 6s);
  CHECK(delivered.empty());
  return p.client_errors();
}

}  // namespace

TEST_CASE("identity: librdkafka over SASL_SSL with SCRAM-SHA-512 is alice and a wrong password is an authentication error",
          "[e2e][identity]") {
  secure_environment env({{"sec", partitions}});
  const auto good = sasl_settings(env, "SASL_SSL", "SCRAM-SHA-512", "alice", "alice-secret");
  round_trip(env, env.bootstrap("sasl_ssl"), good, "sec", "scram", 300);
  const auto seen = events_on(env, "sasl_ssl");
  REQUIRE_FALSE(seen.empty());
  CHECK(seen == std::set<auth_event>{{"sasl_ssl", "alice", "SCRAM-SHA-512"}});

  env.clear_auth_events();
  const auto errors = failed_login(env.bootstrap("sasl_ssl"), sasl_settings(env, "SASL_SSL", "SCRAM-SHA-512", "alice", "wrong"));
  INFO(joined(errors));
  CHECK(contains(errors, "_AUTHENTICATION"));
  CHECK(contains(errors, "invalid credentials with SASL mechanism SCRAM-SHA-512"));
  CHECK(env.auth_events().empty());
  env.require_no_upstream_addresses();
}

TEST_CASE("identity: kcat with SASL_SSL SCRAM-SHA-512 and SASL_PLAINTEXT PLAIN and wrong passwords fail", "[e2e][identity]") {
  REQUIRE(::access(KGW_E2E_KCAT, X_OK) == 0);
  secure_environment env({{"sec", partitions}});
  auto kcat = [&](const std::string& listener, const std::string& protocol, const std::string& mechanism,
                  const std::string& user, const std::string& password, std::vector<std::string> rest) {
    std::vector<std::string> a{KGW_E2E_KCAT, "-b", env.bootstrap(listener), "-X", "security.protocol=" + protocol,
                               "-X", "sasl.mechanisms=" + mechanism, "-X", "sasl.username=" + user,
                               "-X", "sasl.password=" + password};
    if (protocol == "SASL_SSL") a.insert(a.end(), {"-X", "ssl.ca.location=" + env.pki().ca_cert().string()});
    a.insert(a.end(), rest.begin(), rest.end());
    return a;
  };
  std::string input;
  for (int i = 0; i < 50; ++i) input += "k" + std::to_string(i) + ":v" + std::to_string(i) + "\n";
  auto prod = run_process(kcat("sasl_ssl", "SASL_SSL", "SCRAM-SHA-512", "bob", "bob-secret", {"-P", "-t", "sec", "-K:"}),
                          input, 45s);
  INFO(prod.describe());
  REQUIRE(prod.exit_code == 0);
  auto cons = run_process(kcat("sasl", "SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret",
                               {"-C", "-t", "sec", "-e", "-q", "-f", "%k:%s\\n"}),
                          "", 45s);
  INFO(cons.describe());
  REQUIRE(cons.exit_code == 0);
  std::multiset<std::string> want, got;
  std::istringstream in(input), out(cons.out);
  for (std::string l; std::getline(in, l);) want.insert(l);
  for (std::string l; std::getline(out, l);)
    if (!l.empty()) got.insert(l);
  CHECK(got == want);
  CHECK(events_on(env, "sasl_ssl") == std::set<auth_event>{{"sasl_ssl", "bob", "SCRAM-SHA-512"}});
  CHECK(events_on(env, "sasl") == std::set<auth_event>{{"sasl", "alice", "PLAIN"}});

  env.clear_auth_events();
  for (const auto& [listener, protocol, mechanism] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"sasl", "SASL_PLAINTEXT", "PLAIN"}, {"sasl_ssl", "SASL_SSL", "SCRAM-SHA-512"}}) {
    auto bad = run_process(kcat(listener, protocol, mechanism, "alice", "not-her-password", {"-L", "-m", "8"}), "", 30s);
    INFO(bad.describe());
    CHECK(bad.exit_code != 0);
    CHECK(bad.err.find("Authentication failed during authentication due to invalid credentials with SASL mechanism " +
                       mechanism) != std::string::npos);
  }
  CHECK(env.auth_events().empty());
  env.require_no_upstream_addresses();
}

TEST_CASE("identity: mTLS principal from the client certificate (kcat) while missing, untrusted, expired or unmapped "
          "certificates are refused and do not disturb other connections",
          "[e2e][identity]") {
  REQUIRE(::access(KGW_E2E_KCAT, X_OK) == 0);
  secure_environment env({{"sec", partitions}});
  auto& pki = env.pki();
  const auto alice = pki.issue_client("alice", "CN=Alice,OU=teams,O=Example Corp");
  const auto svc = pki.issue_client("svc", "CN=reports-01,O=Example Corp", {"URI:spiffe://example.org/svc/reports"});
  const auto unmapped = pki.issue_client("unmapped", "CN=mallory,OU=contractors,O=Example Corp");
  const auto untrusted = pki.issue_untrusted_client("untrusted", "CN=alice,OU=teams,O=Example Corp");
  const auto expired = pki.issue_expired_client("expired", "CN=alice,OU=teams,O=Example Corp");

  // Opened before the failures and used after them: bad handshakes must not disturb it.
  producer bystander(env.bootstrap("plain"));
  REQUIRE(bystander.produce("sec", keyed_payloads("before", 5), clock::now() + 20s).size() == 5);

  auto kcat_ssl = [&](const testing::test_pki::issued* cert) {
    std::vector<std::string> a{KGW_E2E_KCAT, "-b", env.bootstrap("mtls"), "-X", "security.protocol=SSL",
                               "-X", "ssl.ca.location=" + pki.ca_cert().string(), "-L", "-m", "8"};
    if (cert) a.insert(a.end(), {"-X", "ssl.certificate.location=" + cert->cert.string(), "-X",
                                 "ssl.key.location=" + cert->key.string()});
    return run_process(a, "", 30s);
  };
  for (const auto* cert : {&alice, &svc}) {
    auto r = kcat_ssl(cert);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("3 brokers") != std::string::npos);
  }
  CHECK(events_on(env, "mtls") ==
        std::set<auth_event>{{"mtls", "alice", "SSL"}, {"mtls", "svc-reports", "SSL"}});

  env.clear_auth_events();
  for (const auto* cert : {static_cast<const testing::test_pki::issued*>(nullptr), &unmapped, &untrusted, &expired}) {
    auto r = kcat_ssl(cert);
    INFO(r.describe());
    CHECK(r.exit_code != 0);
  }
  CHECK(env.auth_events().empty());
  CHECK(bystander.produce("sec", keyed_payloads("after", 5), clock::now() + 20s).size() == 5);
  env.require_no_upstream_addresses();
}

TEST_CASE("identity: kafka-python with PLAIN and SCRAM (legacy SaslHandshake v0 flow) and a wrong password fails",
          "[e2e][identity]") {
  REQUIRE(::access(KGW_E2E_PYTHON, X_OK) == 0);
  secure_environment env({{"sec0", partitions}, {"sec1", partitions}, {"sec2", partitions}});
  auto python = [&](const std::string& listener, const std::string& protocol, const std::string& mechanism,
                    const std::string& user, const std::string& password, const std::string& topic,
                    int max_block_ms = 60000) {
    std::vector<std::string> a{KGW_E2E_PYTHON, std::string(KGW_E2E_SCRIPTS) + "/kafka_python_client.py",
                               "--mode", "produce", "--consume", "--bootstrap", env.bootstrap(listener),
                               "--topic", topic, "--partitions", std::to_string(partitions), "--count", "40",
                               "--prefix", "py", "--timeout", "20", "--security-protocol", protocol,
                               "--sasl-mechanism", mechanism, "--username", user, "--password", password,
                               "--max-block-ms", std::to_string(max_block_ms)};
    if (protocol == "SASL_SSL") a.insert(a.end(), {"--cafile", env.pki().ca_cert().string()});
    return run_process(a, "", 90s);
  };
  struct attempt {
    std::string listener, protocol, mechanism, user, password;
  };
  const std::vector<attempt> good{{"sasl", "SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret"},
                                  {"sasl_ssl", "SASL_SSL", "SCRAM-SHA-512", "bob", "bob-secret"},
                                  {"sasl", "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice", "alice-secret"}};
  for (std::size_t i = 0; i < good.size(); ++i) {
    const auto& g = good[i];
    env.clear_auth_events();
    auto r = python(g.listener, g.protocol, g.mechanism, g.user, g.password, "sec" + std::to_string(i));  // a topic each
    INFO(g.mechanism << " " << r.describe());
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("DONE") != std::string::npos);
    // Every record it produced came back to it.
    std::size_t produced = 0, consumed = 0;
    std::istringstream out(r.out);
    for (std::string l; std::getline(out, l);) {
      produced += l.starts_with("P ");
      consumed += l.starts_with("C ");
    }
    CHECK(produced == 40);
    CHECK(consumed == 40);
    CHECK(events_on(env, g.listener) == std::set<auth_event>{{g.listener, g.user, g.mechanism}});
  }

  env.clear_auth_events();
  for (const auto& mechanism : {"PLAIN", "SCRAM-SHA-512"}) {
    auto bad = python("sasl", "SASL_PLAINTEXT", mechanism, "alice", "wrong", "sec0", 5000);
    INFO(mechanism << " " << bad.describe());
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("Error receiving reply from server") != std::string::npos);  // the broker closed the legacy flow
  }
  CHECK(env.auth_events().empty());
}

TEST_CASE("identity: OAUTHBEARER with a signed JWT (librdkafka) while forged, expired, wrong-audience and unsigned tokens "
          "are refused",
          "[e2e][identity]") {
  secure_environment env({{"sec", partitions}});
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto claims = [&](const std::string& sub, long long exp, const std::string& aud) {
    return R"({"sub":")" + sub + R"(","iss":")" + secure_environment::oauth_issuer + R"(","aud":")" + aud +
           R"(","iat":)" + std::to_string(now) + R"(,"exp":)" + std::to_string(exp) + "}";
  };
  auto with_token = [&](const std::string& protocol, const std::string& token) {
    auto s = sasl_settings(env, protocol, "OAUTHBEARER", "", "");
    s.emplace_back("sasl.oauthbearer.config", "token=" + token);
    return s;
  };
  const auto good = env.issuer().sign(claims("svc-analytics", now + 3600, "kafka"));
  round_trip(env, env.bootstrap("sasl_ssl"), with_token("SASL_SSL", good), "sec", "oauth", 100);
  CHECK(events_on(env, "sasl_ssl") == std::set<auth_event>{{"sasl_ssl", "svc-analytics", "OAUTHBEARER"}});

  env.clear_auth_events();
  testing::jwt_test_signer forger(testing::jwt_test_signer::algorithm::rs256, "idp-key-1");  // same kid, other key
  const std::vector<std::pair<std::string, std::string>> bad{
      {forger.sign(claims("svc-analytics", now + 3600, "kafka")), "signature"},
      {env.issuer().sign(claims("svc-analytics", now - 600, "kafka")), "expired"},
      {env.issuer().sign(claims("svc-analytics", now + 3600, "billing")), "aud"}};
  for (const auto& [token, why] : bad) {
    const auto errors = failed_login(env.bootstrap("sasl"), with_token("SASL_PLAINTEXT", token));
    INFO(why << ": " << joined(errors));
    CHECK(contains(errors, "_AUTHENTICATION"));
    CHECK(contains(errors, "invalid token"));
  }
  // librdkafka's built-in unsecured JWT ("alg":"none"): never accepted.
  const auto unsigned_errors = failed_login(
      env.bootstrap("sasl"), {{"security.protocol", "SASL_PLAINTEXT"},
                              {"sasl.mechanisms", "OAUTHBEARER"},
                              {"enable.sasl.oauthbearer.unsecure.jwt", "true"},
                              {"sasl.oauthbearer.config", "principal=admin scope=all"}});
  INFO(joined(unsigned_errors));
  CHECK(contains(unsigned_errors, "_AUTHENTICATION"));
  CHECK(env.auth_events().empty());
}

TEST_CASE("identity: before authentication a SASL listener answers only ApiVersions and SaslHandshake",
          "[e2e][identity]") {
  secure_environment env({{"sec", partitions}}, [](config::gateway_config& cfg) {
    for (auto& l : cfg.listeners) {
      if (l.sasl) l.sasl->auth_timeout = 1s;
      if (l.tls) l.tls->handshake_timeout = 1s;
    }
  });
  const auto port = env.port("sasl");
  auto frame = [](const auto& msg, std::int16_t version, std::int32_t corr) {
    return proto::encode_request(msg, version, corr, "raw-test").flatten();
  };
  {
    // Metadata first: the connection closes with no answer, and no broker was involved.
    raw_connection c(port);
    proto::metadata_request md;
    md.topics = std::vector<proto::metadata_request::metadata_request_topic>{};
    c.send(frame(md, 1, 1));
    CHECK_FALSE(c.receive());
    CHECK_FALSE(c.timed_out);
  }
  {
    raw_connection c(port);
    c.send(frame(proto::api_versions_request{}, 0, 2));
    auto av = c.receive();
    REQUIRE(av);
    const auto resp = decode_response<proto::api_versions_response>(*av, 0, 2);
    std::map<int, std::pair<int, int>> keys;
    for (const auto& k : resp.api_keys) keys[k.api_key] = {k.min_version, k.max_version};
    CHECK(keys.at(17) == std::pair{0, 1});  // the gateway's own SASL, whatever the broker has
    CHECK(keys.at(36) == std::pair{0, 2});
    CHECK(keys.contains(3));  // the cluster's APIs, learnt at start-up

    proto::sasl_handshake_request hs;
    hs.mechanism = "GSSAPI";
    c.send(frame(hs, 1, 3));
    auto answer = c.receive();
    REQUIRE(answer);
    const auto hsr = decode_response<proto::sasl_handshake_response>(*answer, 1, 3);
    CHECK(hsr.error_code == 33);
    std::vector<std::string> mechanisms(hsr.mechanisms.begin(), hsr.mechanisms.end());
    CHECK(mechanisms == std::vector<std::string>{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"});
    CHECK_FALSE(c.receive());  // then the connection closes
  }
  {
    // Plaintext Kafka to the TLS port: the handshake fails, only that connection closes.
    raw_connection c(env.port("mtls"));
    c.send(frame(proto::api_versions_request{}, 0, 4));
    CHECK_FALSE(c.receive());
  }
  for (const char* listener : {"sasl", "mtls"}) {
    // A client that connects and says nothing is closed after auth_timeout / handshake_timeout.
    INFO(listener);
    raw_connection c(env.port(listener));
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(c.receive());
    CHECK_FALSE(c.timed_out);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }
  CHECK(env.auth_events().empty());
  round_trip(env, env.bootstrap("sasl"), sasl_settings(env, "SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret"), "sec",
             "after", 20);
}

TEST_CASE("identity: chained gateways where the outer one logs in to the inner one with its service credentials "
          "(SASL_SSL SCRAM-SHA-512, SASL_PLAINTEXT PLAIN, SSL with a client certificate)",
          "[e2e][identity]") {
  const std::string service_password = "gateway-svc-secret";
  secure_environment inner({{"sec", partitions}}, [&](config::gateway_config& cfg) {
    auto& svc = cfg.principals["gateway-svc"];
    svc.name = "gateway-svc";
    svc.credentials = {stored_credential("SCRAM-SHA-512", service_password)};
  });
  const auto client_cert = inner.pki().issue_client("outer-gateway", "CN=gateway-svc,OU=teams,O=Example Corp");
  // The outer gateway: plaintext for its clients, `protocol` to the inner gateway's `listener`.
  auto make_outer = [&](const std::string& listener, config::security_protocol protocol,
                        std::optional<config::upstream_sasl_settings> sasl) {
    config::gateway_config cfg;
    cfg.source = "outer gateway";
    const std::uint16_t base = find_free_port_block(8);
    cfg.listen = {"127.0.0.1", base};
    cfg.advertised_host = "127.0.0.1";
    cfg.broker_port_first = static_cast<std::uint16_t>(base + 1);
    cfg.broker_port_last = static_cast<std::uint16_t>(base + 7);
    cfg.workers = 1;
    cfg.upstream_connect_timeout = 5s;
    cfg.upstream_bootstrap = {{"127.0.0.1", inner.port(listener)}};
    cfg.upstream_protocol = protocol;
    if (config::uses_tls(protocol)) {
      config::tls_client_settings tls;
      tls.ca_pem = read_text(inner.pki().ca_cert());
      tls.verify_hostname = true;  // the inner gateway's certificate names 127.0.0.1
      if (protocol == config::security_protocol::ssl) {
        tls.certificate_pem = read_text(client_cert.cert);
        tls.key_pem = read_text(client_cert.key);
      }
      cfg.upstream_tls = tls;
    }
    cfg.upstream_sasl = std::move(sasl);
    auto gw = std::make_unique<gateway::gateway>(std::move(cfg));
    gw->start();
    return gw;
  };
  struct variant {
    std::string listener;
    config::security_protocol protocol;
    std::optional<config::upstream_sasl_settings> sasl;
    std::string mechanism;
  };
  const std::vector<variant> variants{
      {"sasl_ssl", config::security_protocol::sasl_ssl,
       config::upstream_sasl_settings{"SCRAM-SHA-512", "gateway-svc", service_password}, "SCRAM-SHA-512"},
      {"sasl", config::security_protocol::sasl_plaintext,
       config::upstream_sasl_settings{"PLAIN", "gateway-svc", service_password}, "PLAIN"},
      {"mtls", config::security_protocol::ssl, std::nullopt, "SSL"}};
  int n = 0;
  for (const auto& v : variants) {
    INFO("upstream listener " << v.listener);
    inner.clear_auth_events();
    auto outer = make_outer(v.listener, v.protocol, v.sasl);
    const std::string bootstrap = "127.0.0.1:" + std::to_string(outer->bootstrap_port());
    const std::string prefix = "chained" + std::to_string(n++);
    const auto deadline = clock::now() + 40s;
    producer p(bootstrap);
    auto produced = p.produce("sec", keyed_payloads(prefix, 100), deadline);
    INFO(joined(p.errors()) << joined(p.client_errors()));
    REQUIRE(produced.size() == 100);
    consumer c(bootstrap, "");
    c.assign_all("sec", partitions);
    std::set<record> got;
    consumer* cs[] = {&c};
    poll_until(cs, [&](std::size_t, record&& r) {
      if (r.key.starts_with(prefix)) got.insert(std::move(r));
    }, [&] { return got.size() >= produced.size(); }, deadline);
    CHECK(got == std::set<record>(produced.begin(), produced.end()));
    // The inner gateway saw only the outer gateway's service principal.
    const auto seen = events_on(inner, v.listener);
    REQUIRE_FALSE(seen.empty());
    CHECK(seen == std::set<auth_event>{{v.listener, "gateway-svc", v.mechanism}});
    outer->stop();
  }
  inner.clear_auth_events();
  {
    // Wrong service password: nothing gets through, and the inner gateway authenticated nobody.
    auto outer = make_outer("sasl_ssl", config::security_protocol::sasl_ssl,
                            config::upstream_sasl_settings{"SCRAM-SHA-512", "gateway-svc", "wrong"});
    producer p("127.0.0.1:" + std::to_string(outer->bootstrap_port()));
    CHECK(p.produce("sec", keyed_payloads("denied", 1), clock::now() + 5s).empty());
    outer->stop();
  }
  CHECK(inner.auth_events().empty());
  const auto stored = read_from_broker(*inner.cluster(), "sec", partitions, clock::now() + 20s);
  REQUIRE(stored.error.empty());
  CHECK(stored.records.size() == 300);  // the three variants' records, nothing of the denied one
  inner.require_no_upstream_addresses();
}

}  // namespace kgw::e2e

// End-to-end: the audit trail with real clients. A gateway from files (SASL/PLAIN listener, ACLs
// and views) writes its trail to a JSON-lines file and to a topic on the cluster. The scenario:
// ingest logs in and writes customers; a login with a wrong password; marketing writes to a topic
// every principal is denied; the policies are reloaded; four teams read customers through their
// own views. The trail read back from the file and from the topic is the same, every line is a
// valid CloudEvent (checked by the CloudEvents JavaScript SDK), and it holds exactly the expected
// events: each login, the one failure, the one denial with its operation, error and the rule's
// file:line:col, the one reload, and traffic rolled up per (principal, topic, API) whose record
// counts are exactly what each client wrote or read.
// Then the trail's sink down, both ways: fail open serves data and counts the events it drops;
// fail closed answers Produce with a retriable error until the sink is back, and the records
// are then in the log exactly once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/dev/embedded_cluster.h"
#include "gateway/gateway.h"
#include "gateway/reloader.h"
#include "protocol/frames.h"
#include "protocol/produce.h"
#include "protocol/sasl_authenticate.h"
#include "protocol/sasl_handshake.h"
#include "tests/e2e/file_gateway.h"
#include "tests/e2e/http_get.h"
#include "tests/e2e/opaque_produce.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/secure_environment.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/json_field.h"

namespace kgw::e2e {
namespace {

namespace fs = std::filesystem;
namespace proto = kgw::protocol;
using namespace std::chrono_literals;
using testing::json_field;

const std::vector<std::string> teams = {"marketing", "analytics", "sales", "fraud"};
constexpr int customers = 300;  // every third has not consented to marketing

std::string principals_yaml() {
  std::string y = "principals:\n";
  for (const auto& p : {"ingest", "marketing", "analytics", "sales", "fraud"})
    y += std::string("  ") + p + ":\n    credentials: [\"" + stored_credential("SCRAM-SHA-512", std::string(p) + "-secret") +
         "\"]\n";
  return y;
}

std::string listener_yaml(std::uint16_t port) {
  return "listeners:\n  - name: teams\n    listen: 127.0.0.1:" + std::to_string(port) +
         "\n    advertised_host: 127.0.0.1\n    broker_ports: " + std::to_string(port + 1) + "-" +
         std::to_string(port + 5) + "\n    security_protocol: SASL_PLAINTEXT\n    sasl:\n      mechanisms: [PLAIN]\n";
}

// The deny rule's mark is where its mapping starts: "everyone" on its line, column 5.
const std::string deny_rule = "  - everyone: true\n    deny: [All]\n    topics: [secrets]\n";

std::string policies_yaml(const std::string& analytics_mask) {
  return R"(acls:
  - principals: [marketing, analytics, sales, fraud]
    allow: [Read, Describe]
    topics: [customers]
  - principals: [marketing, analytics, sales, fraud]
    allow: [Read]
    groups: [{prefix: audit-}]
  - principals: [ingest]
    allow: [Write, Describe]
    topics: [customers]
  - principals: [marketing]
    allow: [Write, Describe]
    topics: [secrets]
)" + deny_rule +
         R"(views:
  - principals: [marketing]
    topics: [customers]
    where: consent == true
    mask:
      - { field: email, function: partial, keep_domain: true }
  - principals: [analytics]
    topics: [customers]
    mask:
      - { field: email, function: )" +
         analytics_mask + R"( }
)";
}

int deny_rule_line() {
  const std::string p = policies_yaml("redact");
  return static_cast<int>(std::count(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(p.find(deny_rule)), '\n')) + 1;
}

settings plain_login(const std::string& user, const std::string& password) {
  return {{"security.protocol", "SASL_PLAINTEXT"},
          {"sasl.mechanism", "PLAIN"},
          {"sasl.username", user},
          {"sasl.password", password}};
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// Node.js from PATH (no PATH search in run_process).
std::string node_program() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"})
    if (fs::exists(fs::path(dir) / "node")) return (fs::path(dir) / "node").string();
  FAIL("node (Node.js) is not installed: docker/setup.sh installs it");
  return {};
}

// Every line a valid CloudEvent, as the CloudEvents JavaScript SDK sees it.
void require_cloudevents(const fs::path& file) {
  const fs::path dir = fs::path(KGW_E2E_SCRIPTS) / "cloudevents";
  INFO("CloudEvents SDK at " << dir << " (docker/setup.sh installs it with npm ci)");
  REQUIRE(fs::exists(dir / "node_modules" / "cloudevents"));
  const auto r = run_process({node_program(), (dir / "validate.js").string(), file.string()}, "", 60s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.starts_with("ok "));
}

// A raw SASL/PLAIN login (handshake v1, authenticate v2): the SaslAuthenticate error code.
std::int16_t raw_login(raw_connection& c, const std::string& user, const std::string& password) {
  proto::sasl_handshake_request hs;
  hs.mechanism = "PLAIN";
  c.send(proto::encode_request(hs, 1, 1, "audit-raw").flatten());
  auto hsr = c.receive();
  REQUIRE(hsr);
  REQUIRE(decode_response<proto::sasl_handshake_response>(*hsr, 1, 1).error_code == 0);
  const std::string token = std::string(1, '\0') + user + std::string(1, '\0') + password;
  proto::sasl_authenticate_request auth;
  auth.auth_bytes = proto::bytes_view(reinterpret_cast<const std::byte*>(token.data()), token.size());
  c.send(proto::encode_request(auth, 1, 2, "audit-raw").flatten());
  auto ar = c.receive();
  REQUIRE(ar);
  return decode_response<proto::sasl_authenticate_response>(*ar, 1, 2).error_code;
}

std::string customer(int id) {
  return R"({"id":)" + std::to_string(id) + R"(,"email":"user)" + std::to_string(id) + R"(@example.com","consent":)" +
         (id % 3 == 0 ? "false" : "true") + "}";
}

// All records of a topic on the cluster itself (not through the gateway).
std::vector<record> topic_contents(const std::string& bootstrap, const std::string& topic, int partitions) {
  consumer c(bootstrap, "");
  std::int64_t total = 0;
  for (const auto& [p, marks] : c.watermarks(topic, partitions, 10s)) total += marks.second - marks.first;
  c.assign_all(topic, partitions);
  std::vector<record> out;
  const auto deadline = clock::now() + 20s;
  while (static_cast<std::int64_t>(out.size()) < total && clock::now() < deadline)
    if (auto r = c.poll(200ms)) out.push_back(std::move(*r));
  return out;
}

// A counter or gauge in a /metrics text, -1 when absent.
double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("audit: logins, a wrong password, a denial, a reload and four teams reading, from the file and the topic",
          "[e2e][audit]") {
  char tmpl[] = "/tmp/kgw-audit-e2e-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  const fs::path out_dir = tmpl;
  const fs::path trail = out_dir / "audit.jsonl";
  file_gateway fg(
      [&](std::uint16_t port) {
        return listener_yaml(port) + principals_yaml() + "audit:\n  instance: gw-audit-e2e\n  rollup_interval: 1h\n" +
               "  file: { path: " + trail.string() + " }\n  kafka: { topic: _kgw_audit }\n";
      },
      policies_yaml("redact"), {{"customers", 3}, {"secrets", 1}, {"_kgw_audit", 1}});
  const std::string bootstrap = fg.bootstrap();

  // ingest writes the customers.
  {
    producer p(bootstrap, plain_login("ingest", "ingest-secret"));
    std::vector<key_value> recs;
    for (int i = 0; i < customers; ++i) recs.emplace_back("k" + std::to_string(i), customer(i));
    REQUIRE(p.produce("customers", recs, clock::now() + 30s).size() == customers);
  }
  // A wrong password: refused, one failure.
  {
    raw_connection c(fg.port());
    CHECK(raw_login(c, "marketing", "not-the-password") == 58);  // SASL_AUTHENTICATION_FAILED
  }
  // marketing writes to `secrets`: the deny rule for everyone wins over its allow.
  {
    raw_connection c(fg.port());
    REQUIRE(raw_login(c, "marketing", "marketing-secret") == 0);
    static const std::byte some[] = {std::byte{0}};
    const auto pr = opaque_produce({{"secrets", proto::bytes_view(some, 1)}}, -1);
    c.send(proto::encode_request(pr, 7, 3, "audit-raw").flatten());
    auto answer = c.receive();
    REQUIRE(answer);
    const auto resp = decode_response<proto::produce_response>(*answer, 7, 3);
    REQUIRE(resp.responses.size() == 1);
    CHECK(resp.responses[0].partition_responses.at(0).error_code == 29);  // TOPIC_AUTHORIZATION_FAILED
  }
  // A reload: analytics' e-mails now removed rather than redacted.
  fg.write_policies(policies_yaml("remove"));
  fg.reloader().reload_now("test");
  // The four teams read customers, each in its own group, through its own view.
  std::map<std::string, int> read;
  {
    std::vector<std::unique_ptr<consumer>> cs;
    for (const auto& team : teams) {
      cs.push_back(std::make_unique<consumer>(bootstrap, "audit-" + team, plain_login(team, team + "-secret")));
      cs.back()->subscribe({"customers"});
    }
    std::vector<consumer*> ptrs;
    for (auto& c : cs) ptrs.push_back(c.get());
    const std::map<std::string, int> expected = {
        {"marketing", customers * 2 / 3}, {"analytics", customers}, {"sales", customers}, {"fraud", customers}};
    const bool all = poll_until(
        ptrs, [&](std::size_t i, record&&) { ++read[teams[i]]; },
        [&] {
          for (const auto& team : teams)
            if (read[team] < expected.at(team)) return false;
          return true;
        },
        clock::now() + 60s);
    REQUIRE(all);
    std::this_thread::sleep_for(500ms);  // nothing more may come
    for (auto* c : ptrs) c->close();
    CHECK(read == expected);
  }
  const auto cluster_bootstrap = fg.cluster().bootstrap();
  fg.stop();  // the last rollups are written as the gateway stops

  // The file and the topic hold the same events.
  const auto lines = read_lines(trail);
  REQUIRE_FALSE(lines.empty());
  require_cloudevents(trail);
  const auto topic = topic_contents(cluster_bootstrap, "_kgw_audit", 1);
  std::multiset<std::string> from_file(lines.begin(), lines.end()), from_topic;
  for (const auto& r : topic) from_topic.insert(r.value);
  CHECK(from_topic == from_file);
  std::set<std::string> ids;
  for (const auto& l : lines) ids.insert(json_field(l, "id").value_or(""));
  CHECK(ids.size() == lines.size());  // every id once

  // Exactly the expected events.
  std::multiset<std::string> logins;
  int failures = 0, denials = 0, reloads = 0, others = 0;
  std::map<std::string, std::map<std::string, long>> traffic;  // "principal topic API" -> field -> sum
  for (const auto& l : lines) {
    INFO(l);
    auto f = [&](std::string_view path) { return json_field(l, path).value_or(""); };
    CHECK(f("source") == "/kafka-gateway/gw-audit-e2e");
    const std::string type = f("type");
    if (type == "kafka.gateway.authentication" && f("data.outcome") == "success") {
      logins.insert(f("data.principal"));
      CHECK(f("data.mechanism") == "PLAIN");
      CHECK(f("data.listener") == "teams");
      CHECK(f("data.client_address").starts_with("127.0.0.1:"));
    } else if (type == "kafka.gateway.authentication") {
      ++failures;
      CHECK(f("data.reason") == "SASL authentication failed");
      CHECK(f("data.detail").find("not-the-password") == std::string::npos);  // never a secret
      CHECK(l.find("not-the-password") == std::string::npos);
    } else if (type == "kafka.gateway.authorization") {
      ++denials;
      CHECK(f("subject") == "marketing");
      CHECK(f("data.client_id") == "audit-raw");
      CHECK(f("data.api") == "Produce");
      CHECK(f("data.resource.type") == "topic");
      CHECK(f("data.resource.name") == "secrets");
      CHECK(f("data.operation") == "Write");
      CHECK(f("data.error") == "TOPIC_AUTHORIZATION_FAILED");
      CHECK(f("data.rule").ends_with("policies.yaml:" + std::to_string(deny_rule_line()) + ":5"));
      CHECK(f("data.generation") == "1");
    } else if (type == "kafka.gateway.reload") {
      ++reloads;
      CHECK(f("data.outcome") == "accepted");
      CHECK(f("data.generation") == "2");
    } else if (type == "kafka.gateway.traffic") {
      auto& t = traffic[f("data.principal") + " " + f("data.resource.name") + " " + f("data.api")];
      for (const char* k : {"requests", "records", "bytes"}) t[k] += std::stol(f(std::string("data.") + k));
      if (auto filtered = json_field(l, "data.records_by_outcome.records_filtered")) t["filtered"] += std::stol(*filtered);
      if (f("data.api") == "Fetch") CHECK(f("data.generation") == "2");
    } else {
      ++others;
    }
  }
  CHECK(std::set<std::string>(logins.begin(), logins.end()) ==
        std::set<std::string>{"ingest", "marketing", "analytics", "sales", "fraud"});
  CHECK(failures == 1);
  CHECK(denials == 1);
  CHECK(reloads == 1);
  CHECK(others == 0);
  std::set<std::string> keys;
  for (const auto& [k, v] : traffic) keys.insert(k);
  CHECK(keys == std::set<std::string>{"ingest customers Produce", "marketing customers Fetch",
                                      "analytics customers Fetch", "sales customers Fetch", "fraud customers Fetch"});
  CHECK(traffic["ingest customers Produce"]["records"] == customers);
  for (const auto& team : teams) {
    INFO(team);
    auto& t = traffic[team + " customers Fetch"];
    CHECK(t["records"] == read[team]);
    CHECK(t["bytes"] > 0);
    CHECK(t["requests"] > 0);
  }
  CHECK(traffic["marketing customers Fetch"]["filtered"] == customers / 3);
  fs::remove_all(out_dir);
}

TEST_CASE("audit: the sink down, fail open: data is served and the dropped events are counted", "[e2e][audit]") {
  file_gateway fg(
      [&](std::uint16_t port) {
        return listener_yaml(port) + principals_yaml() + "admin:\n  listen: 127.0.0.1:" + std::to_string(port + 6) +
               "\naudit:\n  fail: open\n  file: { path: /dev/full }\n";  // every write fails: disk full
      },
      "# none\n", {{"customers", 1}});
  producer p(fg.bootstrap(), plain_login("ingest", "ingest-secret"));
  std::vector<key_value> recs;
  for (int i = 0; i < 10; ++i) recs.emplace_back("k" + std::to_string(i), customer(i));
  CHECK(p.produce("customers", recs, clock::now() + 20s).size() == recs.size());
  // The login's event was dropped, and counted; the gateway stays ready (fail open).
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text = "\n" + http_get(fg.port() + 6, "/metrics").body;
    if (metric(text, R"(kafka_gateway_audit_dropped_total{reason="sink_failed"})") > 0) break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(metric(text, R"(kafka_gateway_audit_dropped_total{reason="sink_failed"})") > 0);
  CHECK(metric(text, R"(kafka_gateway_audit_sink_up{sink="file"})") == 0);
  CHECK(http_get(fg.port() + 6, "/readyz").status == 200);
}

TEST_CASE("audit: the sink down, fail closed: Produce is refused (retriable) until it is back, nothing lost",
          "[e2e][audit]") {
  // The trail goes to a cluster of its own, which the test takes down and brings back.
  gateway::embedded_cluster audit_cluster(1, {{"_kgw_audit", 1}});
  file_gateway fg(
      [&](std::uint16_t port) {
        return listener_yaml(port) + principals_yaml() + "admin:\n  listen: 127.0.0.1:" + std::to_string(port + 6) +
               "\naudit:\n  fail: closed\n  rollup_interval: 1s\n  kafka: { topic: _kgw_audit, bootstrap: [" +
               audit_cluster.bootstrap() + "] }\n";
      },
      "# none\n", {{"customers", 1}});
  const std::uint16_t admin = fg.port() + 6;
  REQUIRE(http_get(admin, "/readyz").status == 200);
  audit_cluster.set_broker_up(1, false);
  // Events now fail to reach the trail: a login makes one; the gateway closes its gate.
  auto client = plain_login("ingest", "ingest-secret");
  client.emplace_back("message.timeout.ms", "60000");
  producer p(fg.bootstrap(), client);
  http_reply ready;
  for (int i = 0; i < 150; ++i) {
    {
      raw_connection c(fg.port());
      REQUIRE(raw_login(c, "fraud", "fraud-secret") == 0);  // an authentication event
    }
    ready = http_get(admin, "/readyz");
    if (ready.status == 503) break;
    std::this_thread::sleep_for(100ms);
  }
  INFO(ready.body);
  REQUIRE(ready.status == 503);
  CHECK(ready.body.find("audit kafka sink down") != std::string::npos);
  // Produce is answered KAFKA_STORAGE_ERROR (retriable): nothing is written while the sink is down.
  std::vector<key_value> recs;
  for (int i = 0; i < 10; ++i) recs.emplace_back("k" + std::to_string(i), customer(i));
  std::vector<record> delivered;
  std::thread sender([&] { delivered = p.produce("customers", recs, clock::now() + 50s); });
  std::this_thread::sleep_for(4s);
  consumer direct(fg.cluster().bootstrap(), "");
  CHECK(direct.watermarks("customers", 1, 5s).at(0).second == 0);
  audit_cluster.set_broker_up(1, true);
  sender.join();
  CHECK(delivered.size() == recs.size());  // retried by the client once the trail is back
  CHECK(p.errors().empty());
  CHECK(direct.watermarks("customers", 1, 5s).at(0).second == 10);  // each record once
  const std::string text = "\n" + http_get(admin, "/metrics").body;
  CHECK(metric(text, R"(kafka_gateway_audit_dropped_total{reason="sink_failed"})") <= 0);
  CHECK(metric(text, R"(kafka_gateway_audit_dropped_total{reason="queue_full"})") <= 0);
  fg.stop();
  // The trail holds the login and the traffic, written once the sink came back.
  const auto events = topic_contents(audit_cluster.bootstrap(), "_kgw_audit", 1);
  long produced = 0;
  bool login = false;
  for (const auto& e : events) {
    if (json_field(e.value, "type") == "kafka.gateway.traffic") produced += std::stol(json_field(e.value, "data.records").value_or("0"));
    if (json_field(e.value, "type") == "kafka.gateway.authentication") login = true;
  }
  CHECK(login);
  CHECK(produced == 10);
}

}  // namespace kgw::e2e

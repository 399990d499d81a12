// End-to-end: the admin listener of a running gateway. A librdkafka producer and consumer go
// through a masking view; /metrics then shows what they did per principal and topic, passes
// Prometheus' `promtool check metrics`, and a real Prometheus server (Debian's, started here on
// loopback) scrapes the gateway with its bearer token and answers a query for the principal's
// bytes out. /healthz and /readyz answer; a gateway whose cluster is unreachable is not ready.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
#include <csignal>
#include <cstring>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "config/gateway_config.h"
#include "config/loader.h"
#include "gateway/config_extensions.h"
#include "gateway/dev/embedded_cluster.h"
#include "gateway/gateway.h"
#include "protocol/api_versions.h"
#include "protocol/frames.h"
#include "protocol/produce.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/http_get.h"
#include "tests/e2e/opaque_produce.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/test_pki.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool has_line(const std::string& text, const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; }

// The value of one series in a scrape ("name{labels}"), or -1 when absent.
double series_value(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + 1 + series.size() + 1, nullptr);
}

const char* const token = "metrics-e2e-token";

// admin_extra: more lines of the admin section (indented by two spaces).
std::unique_ptr<gateway::gateway> start_gateway(const std::vector<std::uint16_t>& brokers, std::uint16_t port,
                                                std::uint16_t admin_port, const std::string& admin_extra = "") {
  const char* level = std::getenv("KGW_E2E_LOG");
  spdlog::set_level(spdlog::level::from_str(level && *level ? level : "warn"));
  const std::string yaml = "gateway:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n  broker_ports: " +
                           std::to_string(port + 1) + "-" + std::to_string(port + 8) +
                           "\nupstream: { bootstrap: [127.0.0.1:1] }\n" +
                           "admin:\n  listen: 127.0.0.1:" + std::to_string(admin_port) +
                           "\n  bearer_token: { env: KGW_E2E_ADMIN_TOKEN }\n" + admin_extra +
                           "policies:\n"
                           "  views:\n"
                           "    - topics: [customers]\n"
                           "      everyone: true\n"
                           "      mask:\n"
                           "        - { field: email, function: redact }\n";
  ::setenv("KGW_E2E_ADMIN_TOKEN", token, 1);
  auto cfg = config::load_string(yaml, "metrics.yaml", gateway::config_extensions());
  INFO((cfg ? std::string() : cfg.error()));
  REQUIRE(cfg.has_value());
  cfg->workers = 2;
  cfg->upstream_connect_timeout = 2s;
  cfg->upstream_bootstrap.clear();
  for (std::uint16_t p : brokers) cfg->upstream_bootstrap.push_back({"127.0.0.1", p});
  auto gw = std::make_unique<gateway::gateway>(std::move(*cfg));
  gw->start();
  return gw;
}

}  // namespace

TEST_CASE("metrics: /metrics counts a principal's records and bytes, promtool and a real Prometheus read it") {
  gateway::embedded_cluster cluster(3, {{"customers", 2}});
  const std::uint16_t port = find_free_port_block(11);
  const std::uint16_t admin_port = static_cast<std::uint16_t>(port + 9), prom_port = static_cast<std::uint16_t>(port + 10);
  auto gw = start_gateway(cluster.broker_ports(), port, admin_port);
  REQUIRE(gw->admin_port() == admin_port);
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port);

  // Without the token: nothing. With it: alive and ready.
  CHECK(http_get(admin_port, "/metrics").status == 401);
  CHECK(http_get(admin_port, "/metrics", "wrong-token").status == 401);
  CHECK(http_get(admin_port, "/healthz", token).status == 200);
  const auto ready = http_get(admin_port, "/readyz", token);
  INFO(ready.body);
  CHECK(ready.status == 200);
  CHECK(http_get(admin_port, "/nothing", token).status == 404);

  const int n = 200;
  std::vector<key_value> records;
  for (int i = 0; i < n; ++i)
    records.push_back({"k" + std::to_string(i), R"({"id":)" + std::to_string(i) + R"(,"email":"a)" + std::to_string(i) +
                                                    R"(@example.com","city":"Oslo"})"});
  {
    producer p(bootstrap);
    const auto sent = p.produce("customers", records, clock::now() + 30s);
    INFO((p.errors().empty() ? std::string() : p.errors().front()));
    REQUIRE(sent.size() == static_cast<std::size_t>(n));
  }
  std::size_t received = 0;
  {
    consumer c(bootstrap, "");
    c.assign_all("customers", 2);
    const auto deadline = clock::now() + 30s;
    while (received < static_cast<std::size_t>(n) && clock::now() < deadline)
      if (auto r = c.poll(200ms)) {
        CHECK(r->value.find("example.com") == std::string::npos);  // masked
        ++received;
      }
  }
  REQUIRE(received == static_cast<std::size_t>(n));

  // Session counts are published once a second: wait for the bytes sent to show.
  std::string text;
  const auto deadline = clock::now() + 10s;
  do {
    std::this_thread::sleep_for(300ms);
    text = http_get(admin_port, "/metrics", token).body;
  } while (series_value(text, "kafka_gateway_client_sent_bytes_total{principal=\"ANONYMOUS\"}") <= 0 &&
           clock::now() < deadline);
  INFO(text);
  CHECK(has_line(text, "kafka_gateway_records_total{principal=\"ANONYMOUS\",topic=\"customers\",api=\"Fetch\",outcome=\"delivered\"} " +
                           std::to_string(n)));
  CHECK(has_line(text, "kafka_gateway_records_total{principal=\"ANONYMOUS\",topic=\"customers\",api=\"Fetch\",outcome=\"masked\"} " +
                           std::to_string(n)));
  CHECK(series_value(text, "kafka_gateway_client_sent_bytes_total{principal=\"ANONYMOUS\"}") > 0);
  // Chargeback per topic: exactly the records written and read, and their bytes.
  for (const char* api : {"Produce", "Fetch"}) {
    const std::string labels = std::string("{principal=\"ANONYMOUS\",topic=\"customers\",api=\"") + api + "\"}";
    CHECK(has_line(text, "kafka_gateway_traffic_records_total" + labels + " " + std::to_string(n)));
    CHECK(series_value(text, "kafka_gateway_traffic_bytes_total" + labels) > 0);
  }
  CHECK(series_value(text, "kafka_gateway_requests_total{principal=\"ANONYMOUS\",api=\"Produce\"}") > 0);
  CHECK(series_value(text, "kafka_gateway_requests_total{principal=\"ANONYMOUS\",api=\"Fetch\"}") > 0);
  CHECK(series_value(text, "kafka_gateway_request_latency_seconds_count{api=\"Produce\"}") > 0);
  CHECK(series_value(text, "kafka_gateway_connections_accepted_total{listener=\"default\"}") >= 2);
  CHECK(has_line(text, "kafka_gateway_config_generation 1"));
  // The masked batches went through the shared transform cache (on by default): each missed
  // once and was kept.
  CHECK(series_value(text, "kafka_gateway_transform_cache_lookups_total{result=\"miss\"}") > 0);
  CHECK(series_value(text, "kafka_gateway_transform_cache_entries") > 0);
  CHECK(series_value(text, "kafka_gateway_transform_cache_bytes") > 0);
  CHECK(has_line(text, "kafka_gateway_transform_cache_capacity_bytes " + std::to_string(32 * 1024 * 1024)));
  CHECK(text.find("kafka_gateway_upstream_connects_total{broker=\"127.0.0.1:") != std::string::npos);

  // Prometheus' own checker accepts the exposition.
  {
    const auto r = run_process({"/usr/bin/promtool", "check", "metrics"}, text, 30s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
  }

  // A real Prometheus server scrapes the gateway (bearer token from a file) and answers a query.
  const fs::path dir = fs::temp_directory_path() / ("kgw-prometheus-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "token") << token;
    std::ofstream(dir / "prometheus.yml") << "global: { scrape_interval: 1s, scrape_timeout: 1s }\n"
                                             "scrape_configs:\n"
                                             "  - job_name: kafka-gateway\n"
                                             "    authorization: { credentials_file: "
                                          << (dir / "token").string()
                                          << " }\n"
                                             "    static_configs: [ { targets: ['127.0.0.1:"
                                          << admin_port << "'] } ]\n";
  }
  // The chargeback report from the same endpoint, with the real binary.
  {
    const auto r = run_process({KGW_GATEWAY_PROGRAM, "usage", "--metrics",
                                "http://127.0.0.1:" + std::to_string(admin_port) + "/metrics", "--token-file",
                                (dir / "token").string(), "--csv"},
                               "", 30s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.out.starts_with("principal,topic,api,records,bytes\n"));
    CHECK(r.out.find("\nANONYMOUS,customers,Fetch," + std::to_string(n) + ",") != std::string::npos);
    CHECK(r.out.find("\nANONYMOUS,customers,Produce," + std::to_string(n) + ",") != std::string::npos);
  }
  child_process prom({"/usr/bin/prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
                      "--storage.tsdb.path=" + (dir / "data").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
                     "");
  REQUIRE(prom.running());
  const std::string query = "/api/v1/query?query=kafka_gateway_client_sent_bytes_total%7Bprincipal%3D%22ANONYMOUS%22%7D";
  std::string answer;
  const std::regex value_re(R"re("value":\[[0-9.]+,"([0-9.e+]+)"\])re");
  std::smatch m;
  const auto prom_deadline = clock::now() + 60s;
  while (clock::now() < prom_deadline) {
    prom.pump(500ms);
    answer = http_get(prom_port, query).body;
    if (std::regex_search(answer, m, value_re)) break;
  }
  INFO("prometheus answered: " << answer << "\nits stderr: " << prom.err());
  REQUIRE(std::regex_search(answer, m, value_re));
  CHECK(std::stod(m[1].str()) > 0);

  // The Grafana dashboard shipped in docker/: every metric it names is one the gateway exports,
  // and Prometheus accepts every one of its queries.
  {
    std::ifstream in(std::string(KGW_E2E_SCRIPTS) + "/../../docker/grafana/kafka-gateway-dashboard.json");
    REQUIRE(in);
    const std::string dash((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::regex expr_re(R"re("expr": "((?:[^"\\]|\\.)*)")re"), name_re(R"re(kafka_gateway_[a-z_]+)re");
    int exprs = 0;
    for (auto it = std::sregex_iterator(dash.begin(), dash.end(), expr_re); it != std::sregex_iterator(); ++it) {
      std::string e = (*it)[1].str();
      for (std::size_t at; (at = e.find("\\\"")) != std::string::npos;) e.replace(at, 2, "\"");
      for (auto n = std::sregex_iterator(e.begin(), e.end(), name_re); n != std::sregex_iterator(); ++n) {
        std::string family = n->str();
        for (const char* suffix : {"_bucket", "_sum", "_count"})
          if (family.ends_with(suffix) && family.find("_seconds") != std::string::npos)
            family.resize(family.size() - std::strlen(suffix));
        INFO("dashboard query " << e);
        CHECK(text.find("# TYPE " + family + " ") != std::string::npos);
      }
      // $instance is Grafana's: Prometheus gets what Grafana would send for "All".
      for (std::size_t at; (at = e.find("$instance")) != std::string::npos;) e.replace(at, 9, ".*");
      std::string q;
      for (unsigned char c : e) {
        if (std::isalnum(c) || c == '_' || c == '.' || c == '-') q.push_back(static_cast<char>(c));
        else {
          char hex[4];
          std::snprintf(hex, sizeof hex, "%%%02X", c);
          q += hex;
        }
      }
      const auto reply = http_get(prom_port, "/api/v1/query?query=" + q).body;
      INFO("dashboard query " << e << "\nprometheus: " << reply);
      CHECK(reply.find("\"status\":\"success\"") != std::string::npos);
      ++exprs;
    }
    CHECK(exprs >= 10);
  }
  prom.signal(SIGTERM);
  prom.finish(clock::now() + 20s);
  std::error_code ec;
  fs::remove_all(dir, ec);
  gw->stop();
}

TEST_CASE("metrics: large Produce requests relayed as they arrive are counted per topic exactly") {
  gateway::embedded_cluster cluster(3, {{"blobs", 3}});
  const std::uint16_t port = find_free_port_block(10);
  auto gw = start_gateway(cluster.broker_ports(), port, static_cast<std::uint16_t>(port + 9));
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port);
  // ~12 MB in batches of up to 1 MB: with metrics on, the gateway walks each request's topic and
  // batch headers as they pass and splices the batch bodies that have not arrived yet.
  const int n = 3'000;
  std::vector<record> sent;
  {
    producer p(bootstrap, {{"linger.ms", "20"}, {"batch.size", "1000000"}});
    sent = p.produce("blobs", keyed_payloads("blobs", n, 4096), clock::now() + 60s);
    INFO((p.errors().empty() ? std::string() : p.errors().front()));
    REQUIRE(sent.size() == static_cast<std::size_t>(n));
  }
  CHECK(gw->spliced_bytes() > 1'000'000);
  // What the broker holds is exactly what was produced.
  std::set<record> got;
  {
    consumer c(bootstrap, "");
    c.assign_all("blobs", 3);
    const auto deadline = clock::now() + 30s;
    while (got.size() < sent.size() && clock::now() < deadline)
      if (auto r = c.poll(200ms)) got.insert(std::move(*r));
  }
  CHECK(got == std::set<record>(sent.begin(), sent.end()));
  const std::string labels = "{principal=\"ANONYMOUS\",topic=\"blobs\",api=\"Produce\"}";
  std::string text;
  const auto deadline = clock::now() + 10s;
  do {
    std::this_thread::sleep_for(300ms);
    text = http_get(static_cast<std::uint16_t>(port + 9), "/metrics", token).body;
  } while (series_value(text, "kafka_gateway_traffic_records_total" + labels) < n && clock::now() < deadline);
  INFO(text);
  CHECK(has_line(text, "kafka_gateway_traffic_records_total" + labels + " " + std::to_string(n)));
  CHECK(series_value(text, "kafka_gateway_traffic_bytes_total" + labels) > n * 4096.0);
}

TEST_CASE("metrics: a request pipelined behind a counted Produce relayed as it arrives is answered") {
  gateway::embedded_cluster cluster(1, {{"blobs", 1}});
  const std::uint16_t port = find_free_port_block(10);
  auto gw = start_gateway(cluster.broker_ports(), port, static_cast<std::uint16_t>(port + 9));
  namespace proto = kgw::protocol;
  raw_connection c(port);
  // A connection's first request is read whole; the next ones may go on as they arrive.
  c.send(proto::encode_request(proto::api_versions_request{}, 0, 1, "pipelined").flatten());
  REQUIRE(c.receive());
  // A Produce whose first records field (~300 KiB, not valid batches: the broker refuses them)
  // is spliced, and whose second topic's header the gateway must then read. An ApiVersions
  // request follows it in the same write: the gateway reads into it while walking the Produce.
  std::vector<std::byte> big(300 * 1024, std::byte{0x5a}), small(100, std::byte{0x5a});
  const auto pr = opaque_produce({{"blobs", proto::bytes_view(big)}, {"blobs-too", proto::bytes_view(small)}});
  auto bytes = proto::encode_request(pr, 3, 2, "pipelined").flatten();
  const auto next = proto::encode_request(proto::api_versions_request{}, 0, 3, "pipelined").flatten();
  bytes.insert(bytes.end(), next.begin(), next.end());
  const auto spliced_before = gw->spliced_bytes();
  c.send(bytes);
  const auto produce_answer = c.receive();
  REQUIRE(produce_answer);
  CHECK(decode_response<proto::produce_response>(*produce_answer, 3, 2).responses.size() == 2);
  const auto versions_answer = c.receive();  // within raw_connection's 10 s, not the idle timeout
  REQUIRE(versions_answer);
  CHECK(decode_response<proto::api_versions_response>(*versions_answer, 0, 3).error_code == 0);
  CHECK(gw->spliced_bytes() - spliced_before > 100 * 1024);
}

TEST_CASE("metrics: /readyz says why a gateway whose cluster is unreachable is not ready") {
  const std::uint16_t port = find_free_port_block(11);
  // Nothing listens on the block's last port: the upstream is unreachable.
  auto gw = start_gateway({static_cast<std::uint16_t>(port + 10)}, port, static_cast<std::uint16_t>(port + 9));
  const auto r = http_get(gw->admin_port(), "/readyz", token);
  CHECK(r.status == 503);
  CHECK(r.body.find("no upstream broker reachable") != std::string::npos);
  CHECK(http_get(gw->admin_port(), "/healthz", token).status == 200);
  gw->stop();
}

TEST_CASE("metrics: the admin listener over TLS serves HTTPS clients with the token, nothing in plain HTTP") {
  testing::test_pki pki("kgw-admin-pki");
  const auto server = pki.issue("admin", "CN=localhost", {"DNS:localhost", "IP:127.0.0.1"}, true);
  const std::uint16_t port = find_free_port_block(11);
  const std::uint16_t admin_port = static_cast<std::uint16_t>(port + 9);
  auto gw = start_gateway({static_cast<std::uint16_t>(port + 10)}, port, admin_port,
                          "  tls: { certificate: " + server.cert.string() + ", key: " + server.key.string() + " }\n");
  const std::string fetch = R"(import ssl, sys, urllib.request, urllib.error
ctx = ssl.create_default_context(cafile=sys.argv[1])
req = urllib.request.Request(sys.argv[2], headers={"Authorization": "Bearer " + sys.argv[3]})
try:
    r = urllib.request.urlopen(req, context=ctx, timeout=10)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
)";
  const std::string url = "https://127.0.0.1:" + std::to_string(admin_port);
  auto get = [&](const std::string& path, const std::string& tok) {
    return run_process({KGW_E2E_PYTHON, "-c", fetch, pki.ca_cert().string(), url + path, tok}, "", 30s);
  };
  const auto ok = get("/healthz", token);
  INFO(ok.describe());
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.starts_with("200 ok"));
  const auto metrics = get("/metrics", token);
  CHECK(metrics.out.find("kafka_gateway_build_info") != std::string::npos);
  CHECK(get("/metrics", "wrong").out.starts_with("401"));
  // Plain HTTP on the TLS port gets no HTTP answer.
  CHECK(http_get(admin_port, "/healthz", token).status == 0);
  gw->stop();
}

}  // namespace kgw::e2e

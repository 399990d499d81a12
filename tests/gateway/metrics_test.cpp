// The metrics registry's text format (checked by Prometheus' own promtool as well as by hand),
// label caps, and what gateway_metrics makes of decisions.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

#include "gateway/metrics/gateway_metrics.h"
#include "gateway/metrics/metric_registry.h"

namespace mx = kgw::gateway::metrics;
namespace pol = kgw::policies;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

// promtool's verdict on a scrape body: "" when it passes, else what it printed.
std::string promtool_check(const std::string& text) {
  char path[] = "/tmp/kgw-metrics-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  std::remove(path);
  REQUIRE(status != -1);
  REQUIRE(WEXITSTATUS(status) != 127);  // promtool is installed (docker/setup.sh: prometheus)
  return WEXITSTATUS(status) == 0 ? std::string() : (out.empty() ? std::string("promtool failed") : out);
}

}  // namespace

TEST_CASE("metrics: counters, gauges and histograms in the text format, label values escaped") {
  mx::registry reg;
  auto& c = reg.add_counter("kgw_test_requests_total", "Requests.\nSecond line \\ here.", {"principal", "api"});
  auto& g = reg.add_gauge("kgw_test_open", "Open things.", {});
  auto& h = reg.add_histogram("kgw_test_latency_seconds", "Latency.", {"api"}, {0.001, 0.01, 0.1});
  c.with({"alice", "Produce"}).add(3);
  c.with({"we\"ird\\name\nx", "Fetch"}).add();
  g.with({}).set(-2);
  auto& hp = h.with({"Produce"});
  hp.observe(std::chrono::microseconds(500));
  hp.observe(std::chrono::milliseconds(5));
  hp.observe(std::chrono::seconds(2));
  const std::string text = reg.render();
  CHECK(text.starts_with("# HELP kgw_test_requests_total Requests.\\nSecond line \\\\ here.\n"
                         "# TYPE kgw_test_requests_total counter\n"));
  CHECK(has_line(text, "kgw_test_requests_total{principal=\"alice\",api=\"Produce\"} 3"));
  CHECK(has_line(text, "kgw_test_requests_total{principal=\"we\\\"ird\\\\name\\nx\",api=\"Fetch\"} 1"));
  CHECK(has_line(text, "# TYPE kgw_test_open gauge"));
  CHECK(has_line(text, "kgw_test_open -2"));
  CHECK(has_line(text, "kgw_test_latency_seconds_bucket{api=\"Produce\",le=\"0.001\"} 1"));
  CHECK(has_line(text, "kgw_test_latency_seconds_bucket{api=\"Produce\",le=\"0.01\"} 2"));
  CHECK(has_line(text, "kgw_test_latency_seconds_bucket{api=\"Produce\",le=\"0.1\"} 2"));
  CHECK(has_line(text, "kgw_test_latency_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 3"));
  CHECK(has_line(text, "kgw_test_latency_seconds_count{api=\"Produce\"} 3"));
  CHECK(has_line(text, "kgw_test_latency_seconds_sum{api=\"Produce\"} 2.0055"));
  CHECK(promtool_check(text) == "");
}

TEST_CASE("metrics: a label cap keeps the first values and folds the rest into other") {
  mx::label_cap cap(2);
  CHECK(cap.fold("a") == "a");
  CHECK(cap.fold("b") == "b");
  CHECK(cap.fold("c") == "other");
  CHECK(cap.fold("a") == "a");
  CHECK(cap.fold("other") == "other");
}

TEST_CASE("metrics: decisions become per-principal and per-topic series, bounded") {
  kgw::config::admin_settings s;
  s.max_principals = 2;
  s.max_topics = 1;
  mx::gateway_metrics m(s);
  m.connection_accepted("plain");
  m.connection_accepted("plain");
  m.connection_closed("plain");
  m.upstream_connected("kafka-1:9092");
  m.upstream_connected("kafka-1:9092");
  m.upstream_closed("kafka-1:9092");
  m.upstream_connect_failed("kafka-2:9092");

  pol::decision auth;
  auth.kind = pol::decision_kind::authenticated;
  auth.listener = "plain";
  auth.principal = "alice";
  auth.mechanism = "SCRAM-SHA-512";
  m.on_decision(auth);
  pol::decision fail;
  fail.kind = pol::decision_kind::authentication_failed;
  fail.listener = "plain";
  fail.reason = "SASL authentication failed";
  fail.detail = "wrong password for alice";  // free text: never a label
  m.on_decision(fail);
  pol::decision denied;
  denied.kind = pol::decision_kind::denied;
  denied.principal = "bob";
  denied.api_key = 0;
  denied.resource_type = "topic";
  denied.resource = "payments";
  denied.error = 29;
  m.on_decision(denied);
  for (const char* who : {"alice", "carol", "dave"}) {  // dave is over the cap of 2 principals
    pol::decision rec;
    rec.kind = pol::decision_kind::records;
    rec.principal = who;
    rec.api_key = 1;
    rec.resource = std::string_view(who) == "alice" ? "customers" : "orders";  // orders: over the topic cap
    pol::add(rec.counts, pol::tally::records_delivered, 10);
    pol::add(rec.counts, pol::tally::records_masked, 4);
    pol::add(rec.counts, pol::tally::fields_decrypted, 8);
    m.on_decision(rec);
    m.on_decision(rec);
  }
  m.add_session_counts("alice", {1000, 2000});
  m.add_requests("alice", 0, 5);    // Produce
  m.add_requests("alice", 127, 1);  // a key outside the known range
  m.observe_latency(0, std::chrono::milliseconds(3));
  m.observe_latency(0, std::chrono::microseconds(200));
  pol::decision reload;
  reload.kind = pol::decision_kind::reload;
  reload.accepted = false;
  reload.generation = 1;
  m.on_decision(reload);

  const std::string text = m.render();
  CHECK(has_line(text, "kafka_gateway_connections_accepted_total{listener=\"plain\"} 2"));
  CHECK(has_line(text, "kafka_gateway_connections_open{listener=\"plain\"} 1"));
  CHECK(has_line(text, "kafka_gateway_upstream_connections_open{broker=\"kafka-1:9092\"} 1"));
  CHECK(has_line(text, "kafka_gateway_upstream_connects_total{broker=\"kafka-1:9092\"} 2"));
  CHECK(has_line(text, "kafka_gateway_upstream_connect_failures_total{broker=\"kafka-2:9092\"} 1"));
  CHECK(has_line(text, "kafka_gateway_authentications_total{listener=\"plain\",mechanism=\"SCRAM-SHA-512\",principal=\"alice\"} 1"));
  CHECK(has_line(text, "kafka_gateway_authentication_failures_total{listener=\"plain\",reason=\"SASL authentication failed\"} 1"));
  CHECK(text.find("wrong password") == std::string::npos);
  CHECK(has_line(text, "kafka_gateway_denied_total{principal=\"bob\",api=\"Produce\",resource_type=\"topic\",error_code=\"29\"} 1"));
  CHECK(has_line(text, "kafka_gateway_records_total{principal=\"alice\",topic=\"customers\",api=\"Fetch\",outcome=\"delivered\"} 20"));
  CHECK(has_line(text, "kafka_gateway_records_total{principal=\"alice\",topic=\"customers\",api=\"Fetch\",outcome=\"masked\"} 8"));
  CHECK(has_line(text, "kafka_gateway_encrypted_fields_total{principal=\"alice\",topic=\"customers\",api=\"Fetch\",outcome=\"decrypted\"} 16"));
  // bob took the second principal slot (denied); carol and dave are "other", orders is "other".
  CHECK(has_line(text, "kafka_gateway_records_total{principal=\"other\",topic=\"other\",api=\"Fetch\",outcome=\"delivered\"} 40"));
  CHECK(text.find("carol") == std::string::npos);
  CHECK(text.find("orders") == std::string::npos);
  CHECK(has_line(text, "kafka_gateway_requests_total{principal=\"alice\",api=\"Produce\"} 5"));
  CHECK(has_line(text, "kafka_gateway_requests_total{principal=\"alice\",api=\"unknown\"} 1"));
  CHECK(has_line(text, "kafka_gateway_request_latency_seconds_bucket{api=\"Produce\",le=\"0.0005\"} 1"));
  CHECK(has_line(text, "kafka_gateway_request_latency_seconds_bucket{api=\"Produce\",le=\"0.005\"} 2"));
  CHECK(has_line(text, "kafka_gateway_request_latency_seconds_count{api=\"Produce\"} 2"));
  CHECK(has_line(text, "kafka_gateway_client_received_bytes_total{principal=\"alice\"} 1000"));
  CHECK(has_line(text, "kafka_gateway_client_sent_bytes_total{principal=\"alice\"} 2000"));
  CHECK(has_line(text, "kafka_gateway_config_reloads_total{result=\"rejected\"} 1"));
  CHECK(has_line(text, "kafka_gateway_config_reloads_total{result=\"accepted\"} 0"));
  CHECK(has_line(text, "kafka_gateway_config_last_reload_successful 0"));
  CHECK(text.find("kafka_gateway_build_info{version=\"") != std::string::npos);
  CHECK(promtool_check(text) == "");
}

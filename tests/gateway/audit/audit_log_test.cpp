// The audit log with sinks the test controls: traffic from many threads rolls up exactly; a
// full queue drops and counts (fail: open) or stops the gate and keeps every event (fail: closed),
// without the deciding thread ever waiting for a sink; a sink that fails is retried alone (no
// event written twice to the other) or has its events dropped and counted; the JSON-lines file
// rotates by size with whole lines and reopens its path on request.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "gateway/audit/audit_log.h"
#include "gateway/audit/file_sink.h"
#include "gateway/metrics/gateway_metrics.h"
#include "tests/support/json_field.h"
#include "protocol/api_keys.h"

namespace ga = kgw::gateway::audit;
using kgw::config::audit_settings;
using kgw::policies::decision;
using kgw::policies::decision_kind;
using namespace std::chrono_literals;

namespace {

// Records what it is given; can be made to fail or to block until released.
class test_sink final : public ga::audit_sink {
 public:
  explicit test_sink(const char* name = "test") : name_(name) {}
  const char* name() const override { return name_; }
  std::size_t write(std::span<const std::string> events) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !blocked_; });
    ++attempts_;
    if (failing_) return 0;
    for (const auto& e : events) events_.push_back(e);
    cv_.notify_all();
    return events.size();
  }
  bool healthy() const override {
    std::lock_guard lk(mu_);
    return !failing_;
  }
  std::string last_error() const override { return failing_ ? "failing on purpose" : ""; }

  void block(bool b) {
    std::lock_guard lk(mu_);
    blocked_ = b;
    cv_.notify_all();
  }
  void fail(bool f) {
    std::lock_guard lk(mu_);
    failing_ = f;
  }
  // Waits (bounded) until it holds n events.
  bool wait_for(std::size_t n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, 10s, [&] { return events_.size() >= n; });
  }
  std::vector<std::string> events() const {
    std::lock_guard lk(mu_);
    return events_;
  }
  int attempts() const {
    std::lock_guard lk(mu_);
    return attempts_;
  }

 private:
  const char* name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool blocked_ = false, failing_ = false;
  int attempts_ = 0;
  std::vector<std::string> events_;
};

decision denial(int i) {
  static thread_local std::string name;
  name = "topic-" + std::to_string(i);
  decision d;
  d.kind = decision_kind::denied;
  d.principal = "p";
  d.api_key = kgw::protocol::api::produce;
  d.resource_type = "topic";
  d.resource = name;
  d.error = 29;
  return d;
}

audit_settings settings(audit_settings::fail_mode fail, std::size_t capacity) {
  audit_settings s;
  s.instance = "unit";
  s.fail = fail;
  s.queue_capacity = capacity;
  s.rollup_interval = 3600s;  // rolled up at stop()
  return s;
}

// A counter's value in a metrics text ("name{labels} value"), -1 when absent.
double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

std::string field(const std::string& event, std::string_view path) {
  INFO(event);
  const auto v = kgw::testing::json_field(event, path);
  REQUIRE(v.has_value());
  return *v;
}

}  // namespace

TEST_CASE("audit log: traffic from many threads rolls up exactly per (principal, topic, API)", "[audit]") {
  auto sink = std::make_unique<test_sink>();
  auto* s = sink.get();
  std::vector<std::unique_ptr<ga::audit_sink>> sinks;
  sinks.push_back(std::move(sink));
  ga::audit_log log(settings(audit_settings::fail_mode::open, 100), std::move(sinks));
  log.start();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        for (const char* who : {"marketing", "fraud"}) {
          decision d;
          d.kind = decision_kind::traffic;
          d.principal = who;
          d.api_key = std::string_view(who) == "fraud" ? kgw::protocol::api::fetch : kgw::protocol::api::produce;
          d.resource_type = "topic";
          d.resource = "customers";
          d.bytes = 10;
          d.records = 2;
          log.on_decision(d);
        }
    });
  for (auto& t : threads) t.join();
  log.stop();
  const auto events = s->events();
  REQUIRE(events.size() == 2);
  for (const auto& e : events) {
    CHECK(field(e, "type") == "kafka.gateway.traffic");
    CHECK(field(e, "data.requests") == "4000");
    CHECK(field(e, "data.bytes") == "40000");
    CHECK(field(e, "data.records") == "8000");
    CHECK(field(e, "data.api") == (field(e, "subject") == "fraud" ? "Fetch" : "Produce"));
  }
}

TEST_CASE("audit log: fail open: a full queue drops and counts, the deciding thread never waits", "[audit]") {
  kgw::gateway::metrics::gateway_metrics mx{kgw::config::admin_settings{}};
  auto sink = std::make_unique<test_sink>();
  auto* s = sink.get();
  s->block(true);  // the sink hangs: nothing leaves the queue
  std::vector<std::unique_ptr<ga::audit_sink>> sinks;
  sinks.push_back(std::move(sink));
  ga::audit_log log(settings(audit_settings::fail_mode::open, 10), std::move(sinks), &mx);
  log.start();
  for (int i = 0; i < 100; ++i) log.on_decision(denial(i));  // returns although the sink hangs
  CHECK(log.accepting());  // open: the gate never closes
  CHECK(metric(mx.render(), R"(kafka_gateway_audit_dropped_total{reason="queue_full"})") == 90);
  s->block(false);
  REQUIRE(s->wait_for(10));
  log.stop();
  const auto events = s->events();
  REQUIRE(events.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(field(events[static_cast<std::size_t>(i)], "data.resource.name") == "topic-" + std::to_string(i));
}

TEST_CASE("audit log: fail closed: a full queue closes the gate, keeps every event, reopens when written", "[audit]") {
  kgw::gateway::metrics::gateway_metrics mx{kgw::config::admin_settings{}};
  auto sink = std::make_unique<test_sink>();
  auto* s = sink.get();
  s->block(true);
  std::vector<std::unique_ptr<ga::audit_sink>> sinks;
  sinks.push_back(std::move(sink));
  ga::audit_log log(settings(audit_settings::fail_mode::closed, 10), std::move(sinks), &mx);
  log.start();
  for (int i = 0; i < 9; ++i) log.on_decision(denial(i));
  CHECK(log.accepting());
  log.on_decision(denial(9));
  CHECK_FALSE(log.accepting());  // at capacity: data requests are refused from now
  CHECK(log.trouble().find("audit queue full") != std::string::npos);
  // Events of requests already under way still fit, up to twice the capacity.
  for (int i = 10; i < 25; ++i) log.on_decision(denial(i));
  CHECK(metric(mx.render(), R"(kafka_gateway_audit_dropped_total{reason="queue_full"})") == 5);
  s->block(false);
  REQUIRE(s->wait_for(20));
  for (int i = 0; i < 100 && !log.accepting(); ++i) std::this_thread::sleep_for(50ms);
  CHECK(log.accepting());
  log.stop();
  CHECK(s->events().size() == 20);
}

TEST_CASE("audit log: a sink that fails is retried alone (closed) or its events dropped and counted (open)",
          "[audit]") {
  for (const auto mode : {audit_settings::fail_mode::closed, audit_settings::fail_mode::open}) {
    const bool closed = mode == audit_settings::fail_mode::closed;
    INFO((closed ? "closed" : "open"));
    kgw::gateway::metrics::gateway_metrics mx{kgw::config::admin_settings{}};
    auto good = std::make_unique<test_sink>("good");
    auto bad = std::make_unique<test_sink>("bad");
    auto *g = good.get(), *b = bad.get();
    b->fail(true);
    std::vector<std::unique_ptr<ga::audit_sink>> sinks;
    sinks.push_back(std::move(good));
    sinks.push_back(std::move(bad));
    ga::audit_log log(settings(mode, 100), std::move(sinks), &mx);
    // Queued before the writer starts, so they go out as one batch: in closed mode events queued
    // after a batch a sink failed wait until every sink took that batch, and on a loaded machine
    // the writer could otherwise take the first events alone (the good sink then saw fewer).
    for (int i = 0; i < 5; ++i) log.on_decision(denial(i));
    log.start();
    REQUIRE(g->wait_for(5));
    // The failing sink is tried again (closed) while its events wait; the gate is shut.
    for (int i = 0; i < 100 && b->attempts() < 2; ++i) std::this_thread::sleep_for(20ms);
    if (closed) {
      CHECK(b->attempts() >= 2);
      for (int i = 0; i < 100 && log.accepting(); ++i) std::this_thread::sleep_for(20ms);
      CHECK_FALSE(log.accepting());
      CHECK(log.trouble().find("audit bad sink down: failing on purpose") != std::string::npos);
    } else {
      CHECK(metric(mx.render(), R"(kafka_gateway_audit_dropped_total{reason="sink_failed"})") == 5);
      CHECK(log.accepting());
    }
    b->fail(false);
    log.on_decision(denial(5));
    REQUIRE(g->wait_for(6));
    if (closed) REQUIRE(b->wait_for(6));
    log.stop();
    CHECK(g->events().size() == 6);  // never written twice to the sink that worked
    const auto got = b->events();
    REQUIRE(got.size() == (closed ? 6u : 1u));
    CHECK(field(got.back(), "data.resource.name") == "topic-5");
    if (closed) CHECK(field(got.front(), "data.resource.name") == "topic-0");
    CHECK(metric(mx.render(), R"(kafka_gateway_audit_sink_up{sink="bad"})") == 1);
  }
}

TEST_CASE("audit file: rotates by size with whole lines, reopens its path, reports a full disk", "[audit]") {
  char tmpl[] = "/tmp/kgw-audit-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  const std::filesystem::path dir = tmpl;
  const auto path = (dir / "audit.jsonl").string();
  {
    audit_settings::file_sink fs;
    fs.path = path;
    fs.max_bytes = 1000;
    fs.keep = 2;
    ga::file_sink f(fs);
    REQUIRE(f.healthy());
    const auto owner_only = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) == owner_only);
    const std::string event(99, 'x');  // 100 bytes a line
    for (int i = 0; i < 35; ++i) REQUIRE(f.write(std::span(&event, 1)) == 1);
    // 35 lines of 100 bytes, 10 per file: path (5), path.1 (10), path.2 (10); the oldest 10 gone.
    CHECK(std::filesystem::file_size(path) == 500);
    CHECK(std::filesystem::file_size(path + ".1") == 1000);
    CHECK(std::filesystem::file_size(path + ".2") == 1000);
    CHECK_FALSE(std::filesystem::exists(path + ".3"));
    // logrotate moves the file away; SIGUSR1: reopened at the path.
    std::filesystem::rename(path, dir / "moved");
    f.reopen();
    REQUIRE(f.write(std::span(&event, 1)) == 1);
    CHECK(std::filesystem::file_size(path) == 100);
    CHECK(std::filesystem::file_size(dir / "moved") == 500);
  }
  {
    audit_settings::file_sink fs;
    fs.path = "/dev/full";  // every write fails with ENOSPC
    ga::file_sink f(fs);
    const std::string event = "{}";
    CHECK(f.write(std::span(&event, 1)) == 0);
    CHECK_FALSE(f.healthy());
    CHECK(f.last_error().find("No space left on device") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// auth_failure_log: per-IP burst budget, window reset with the suppressed count, address
// independence, the bound on tracked addresses, and log-safe text. Time comes from the `now`
// overload, so nothing sleeps.
#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/logging.h"
#include "gateway/security/auth_failure_log.h"

using kgw::security::auth_failure_log;
using namespace std::chrono_literals;

namespace {

// Routes the auth logger (gateway/logging.h) into a string for the test's lifetime.
class log_capture {
 public:
  log_capture() : logger_(kgw::log::auth()), saved_sinks_(logger_.sinks()), saved_level_(logger_.level()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l|%v");
    logger_.sinks() = {sink};
    logger_.set_level(spdlog::level::trace);
  }
  ~log_capture() {
    logger_.sinks() = saved_sinks_;
    logger_.set_level(saved_level_);
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }

 private:
  std::ostringstream out_;
  spdlog::logger& logger_;
  std::vector<spdlog::sink_ptr> saved_sinks_;
  spdlog::level::level_enum saved_level_;
};

const auth_failure_log::clock::time_point t0{std::chrono::hours(1000)};

}  // namespace

TEST_CASE("auth_failure_log: burst, then suppression, then a window reset that reports the count",
          "[auth_failure_log]") {
  log_capture capture;
  auth_failure_log log(3, 60s);

  for (int i = 0; i < 3; ++i)
    CHECK(log.failure("10.0.0.7:5000", "SASL/PLAIN authentication failed", "bad password", t0));
  CHECK_FALSE(log.failure("10.0.0.7:5001", "SASL/PLAIN authentication failed", "bad password", t0 + 1s));
  CHECK_FALSE(log.failure("10.0.0.7:5002", "SASL/PLAIN authentication failed", "bad password", t0 + 59s));
  CHECK(log.suppressed_total() == 2);
  REQUIRE(capture.lines().size() == 3);
  CHECK(capture.lines()[0] == "warning|SASL/PLAIN authentication failed from 10.0.0.7:5000: bad password");

  // The window (60 s from the first failure) is over: a fresh budget, and the first line
  // says what was held back.
  CHECK(log.failure("10.0.0.7:5003", "TLS handshake failed", "certificate expired", t0 + 60s));
  REQUIRE(capture.lines().size() == 4);
  CHECK(capture.lines()[3] ==
        "warning|TLS handshake failed from 10.0.0.7:5003: certificate expired (2 similar messages suppressed)");
  // Reported once: the next line has no suffix.
  CHECK(log.failure("10.0.0.7:5004", "TLS handshake failed", "certificate expired", t0 + 61s));
  CHECK(capture.lines()[4] == "warning|TLS handshake failed from 10.0.0.7:5004: certificate expired");
  CHECK(log.failure("10.0.0.7:5005", "x", "y", t0 + 62s));
  CHECK_FALSE(log.failure("10.0.0.7:5006", "x", "y", t0 + 63s));
  CHECK(log.suppressed_total() == 3);  // a running total, not reset by reporting
  CHECK(capture.lines().size() == 6);
}

TEST_CASE("auth_failure_log: the budget is per IP, whatever the port, for IPv4 and IPv6", "[auth_failure_log]") {
  log_capture capture;
  auth_failure_log log(2, 60s);

  CHECK(log.failure("10.0.0.7:1111", "auth", "r", t0));
  CHECK(log.failure("10.0.0.7:2222", "auth", "r", t0));
  CHECK_FALSE(log.failure("10.0.0.7:3333", "auth", "r", t0));  // new port, same host
  CHECK_FALSE(log.failure("10.0.0.7", "auth", "r", t0));

  CHECK(log.failure("10.0.0.8:1111", "auth", "r", t0));  // another host is unaffected

  CHECK(log.failure("[2001:db8::1]:9093", "auth", "r", t0));
  CHECK(log.failure("[2001:db8::1]:9094", "auth", "r", t0));
  CHECK_FALSE(log.failure("2001:db8::1", "auth", "r", t0));  // bare IPv6: same key
  CHECK(log.failure("2001:db8::2", "auth", "r", t0));
  CHECK(log.failure("[::1]:1", "auth", "r", t0));

  CHECK(log.suppressed_total() == 3);
  CHECK(log.tracked_addresses() == 5);
  CHECK(capture.lines().size() == 7);
  CHECK(capture.lines()[3] == "warning|auth from [2001:db8::1]:9093: r");
}

TEST_CASE("auth_failure_log: source_ip strips the port only", "[auth_failure_log]") {
  CHECK(auth_failure_log::source_ip("10.0.0.7:5000") == "10.0.0.7");
  CHECK(auth_failure_log::source_ip("10.0.0.7") == "10.0.0.7");
  CHECK(auth_failure_log::source_ip("[2001:db8::1]:9093") == "2001:db8::1");
  CHECK(auth_failure_log::source_ip("[::1]") == "::1");
  CHECK(auth_failure_log::source_ip("2001:db8::1") == "2001:db8::1");
  CHECK(auth_failure_log::source_ip("::ffff:10.0.0.7") == "::ffff:10.0.0.7");
  CHECK(auth_failure_log::source_ip("") == "");
}

TEST_CASE("auth_failure_log: tracked addresses stay bounded, least recently seen evicted first", "[auth_failure_log]") {
  log_capture capture;

  SECTION("a flood of distinct addresses") {
    auth_failure_log log(1, 60s, 100);
    for (int i = 0; i < 10000; ++i) {
      const std::string address = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                                  std::to_string(i % 256) + ":4000";
      CHECK(log.failure(address, "auth", "r", t0));  // each new address gets its line
      REQUIRE(log.tracked_addresses() <= 100);
    }
    CHECK(log.tracked_addresses() == 100);
    CHECK(capture.lines().size() == 10000);
  }
  SECTION("eviction order") {
    auth_failure_log log(1, 60s, 3);
    CHECK(log.failure("10.0.0.1", "auth", "r", t0));             // A
    CHECK(log.failure("10.0.0.2", "auth", "r", t0));             // B
    CHECK(log.failure("10.0.0.3", "auth", "r", t0));             // C
    CHECK_FALSE(log.failure("10.0.0.1", "auth", "r", t0 + 1s));  // A again: over budget, now most recent
    CHECK(log.failure("10.0.0.4", "auth", "r", t0 + 2s));        // D evicts B, the least recent
    CHECK(log.tracked_addresses() == 3);
    CHECK(log.failure("10.0.0.2", "auth", "r", t0 + 3s));        // B is new again (evicts C)...
    CHECK_FALSE(log.failure("10.0.0.1", "auth", "r", t0 + 4s));  // ...while A kept its state
    CHECK(log.failure("10.0.0.3", "auth", "r", t0 + 5s));        // C was evicted, so fresh too
    CHECK(log.tracked_addresses() == 3);
    CHECK(log.suppressed_total() == 2);
  }
}

TEST_CASE("auth_failure_log: peer-supplied text cannot forge log lines or flood one line", "[auth_failure_log]") {
  log_capture capture;
  auth_failure_log log;

  CHECK(log.failure("10.0.0.9:1", "SASL/SCRAM authentication failed", "unknown user 'x'\nwarning|forged\x1b[0m", t0));
  REQUIRE(capture.lines().size() == 1);
  CHECK(capture.lines()[0] ==
        "warning|SASL/SCRAM authentication failed from 10.0.0.9:1: unknown user 'x'\\x0awarning|forged\\x1b[0m");

  const std::string huge(10000, 'u');
  CHECK(log.failure("10.0.0.10:1", "auth", huge, t0));
  REQUIRE(capture.lines().size() == 2);
  CHECK(capture.lines()[1] ==
        "warning|auth from 10.0.0.10:1: " + std::string(auth_failure_log::max_reason_bytes, 'u') + "...");

  // The cut never splits a UTF-8 character: 511 ASCII bytes, then a 2-byte 'ü' across 512.
  const std::string straddling = std::string(auth_failure_log::max_reason_bytes - 1, 'a') + "\xC3\xBC" + "tail";
  CHECK(log.failure("10.0.0.11:1", "auth", straddling, t0));
  CHECK(capture.lines()[2] ==
        "warning|auth from 10.0.0.11:1: " + std::string(auth_failure_log::max_reason_bytes - 1, 'a') + "...");
}

TEST_CASE("auth_failure_log: defaults and degenerate settings", "[auth_failure_log]") {
  log_capture capture;

  SECTION("default budget is 5 per minute") {
    auth_failure_log log;
    for (int i = 0; i < 5; ++i) CHECK(log.failure("10.0.0.1:1", "auth", "r", t0));
    CHECK_FALSE(log.failure("10.0.0.1:1", "auth", "r", t0 + 59s));
    CHECK(log.failure("10.0.0.1:1", "auth", "r", t0 + 60s));
  }
  SECTION("burst below 1 still logs the first failure") {
    auth_failure_log log(0, 10s, 0);
    CHECK(log.failure("10.0.0.1", "auth", "r", t0));
    CHECK_FALSE(log.failure("10.0.0.1", "auth", "r", t0));
    CHECK(log.failure("10.0.0.2", "auth", "r", t0));
    CHECK(log.tracked_addresses() == 1);
  }
  SECTION("the overload without a time uses the steady clock") {
    auth_failure_log log(1, 3600s);
    CHECK(log.failure("10.0.0.1", "auth", "r"));
    CHECK_FALSE(log.failure("10.0.0.1", "auth", "r"));
    CHECK(capture.lines().size() == 1);
  }
}

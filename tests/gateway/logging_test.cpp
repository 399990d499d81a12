// The JSON log format: each line one object whatever the message holds (quotes, newlines,
// control characters, invalid UTF-8 from a peer), read back by the project's JSON parser.
#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <string>

#include "gateway/logging.h"
#include "policies/json/json_doc.h"

TEST_CASE("logging: --log-format json writes one valid JSON object per line") {
  auto& logger = kgw::log::auth();
  const auto saved_sinks = logger.sinks();
  std::ostringstream out;
  logger.sinks() = {std::make_shared<spdlog::sinks::ostream_sink_mt>(out)};
  kgw::log::set_up(kgw::log::format::json);
  logger.warn("user \"{}\" from {}: bad\npassword\x01", std::string("mall\xff\xc3ory"), "10.0.0.7");
  kgw::log::set_up(kgw::log::format::text);
  logger.sinks() = saved_sinks;

  std::string line = out.str();
  REQUIRE(line.ends_with("\n"));
  line.pop_back();
  CHECK(line.find('\n') == std::string::npos);  // one line
  kgw::policies::json::json_doc doc;
  REQUIRE(doc.parse(line));
  auto field = [&](const char* key) {
    const auto i = doc.find_member(doc.root(), key);
    REQUIRE(i != kgw::policies::json::npos);
    std::string v;
    doc.string_value(i, v);
    return v;
  };
  CHECK(field("level") == "warning");
  CHECK(field("logger") == "auth");
  // Invalid bytes become U+FFFD; everything else comes back as it was logged.
  CHECK(field("message") == "user \"mall\xef\xbf\xbd\xef\xbf\xbdory\" from 10.0.0.7: bad\npassword\x01");
  CHECK(field("time").ends_with("Z"));
}

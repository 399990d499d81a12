// Log levels per logger: a level for all, then logger=level; every mistake named, in the file
// with its line and column.
#include <catch2/catch.hpp>

#include "config/loader.h"
#include "config/log_levels.h"

using kgw::config::parse_log_levels;

TEST_CASE("log levels: one for every logger, then per logger") {
  auto l = parse_log_levels("info");
  REQUIRE(l);
  CHECK(l->all == "info");
  CHECK(l->loggers.empty());
  l = parse_log_levels("warn, auth=debug,relay=off");
  REQUIRE(l);
  CHECK(l->all == "warn");
  CHECK(l->loggers == std::map<std::string, std::string>{{"auth", "debug"}, {"relay", "off"}});
  l = parse_log_levels("keys=trace");  // the rest keep info
  REQUIRE(l);
  CHECK(l->all == "info");
  CHECK(l->loggers.at("keys") == "trace");
}

TEST_CASE("log levels: mistakes are named") {
  CHECK(parse_log_levels("loud").error() ==
        "unknown level 'loud' (trace, debug, info, warn, error, critical, off)");
  CHECK(parse_log_levels("info,sessions=debug").error() ==
        "unknown logger 'sessions' (relay, auth, upstream, config, audit, keys, admin)");
  CHECK(parse_log_levels("auth=loud").error().starts_with("unknown level 'loud' for auth"));
  CHECK(parse_log_levels("info,debug").error() == "two levels for every logger ('info' and 'debug')");
  CHECK(parse_log_levels("auth=info,auth=debug").error() == "logger 'auth' named twice");
  CHECK(parse_log_levels("info,").error().starts_with("an empty entry"));
  CHECK_FALSE(parse_log_levels(""));
}

TEST_CASE("log levels: gateway.log_level is checked where it is written") {
  auto bad = kgw::config::load_string("gateway:\n  log_level: info,sessions=debug\nupstream: { bootstrap: [k:9092] }\n",
                                      "gw.yaml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error() ==
        "gw.yaml:2:14: gateway.log_level: unknown logger 'sessions' (relay, auth, upstream, config, audit, keys, admin)");
  auto good = kgw::config::load_string("gateway:\n  log_level: warn,auth=debug\nupstream: { bootstrap: [k:9092] }\n", "gw.yaml");
  REQUIRE(good);
  CHECK(good->log_level == "warn,auth=debug");
}

#include "gateway/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "policies/json/json_text.h"

namespace kgw::log {

namespace {

// {"time":"2026-12-06T05:01:02.345Z","level":"info","logger":"relay","message":"..."}: UTC
// with milliseconds, logger and message escaped as the record masks escape JSON text (control
// characters escaped, invalid UTF-8 as U+FFFD), so every line parses whatever a message holds.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto t = msg.time;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count() % 1000;
    const std::time_t secs = system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[40];
    const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string line = R"({"time":")";
    line.append(stamp, n);
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
    line += frac;
    line += R"(","level":")";
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += R"(","logger":")";
    policies::json::escape_append(std::string_view(msg.logger_name.data(), msg.logger_name.size()), line);
    line += R"(","message":")";
    policies::json::escape_append(std::string_view(msg.payload.data(), msg.payload.size()), line);
    line += "\"}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }
};

std::unique_ptr<spdlog::formatter> make_formatter(format f) {
  if (f == format::json) return std::make_unique<json_formatter>();
  return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
}

// Made on first use (thread-safe static), as text: tests and tools that never call set_up()
// still log.
struct registry {
  std::array<std::shared_ptr<spdlog::logger>, config::logger_names.size()> loggers;
  registry() {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (std::size_t i = 0; i < loggers.size(); ++i) {
      loggers[i] = std::make_shared<spdlog::logger>(std::string(config::logger_names[i]), sink);
      loggers[i]->set_formatter(make_formatter(format::text));
    }
  }
};

registry& reg() {
  static registry r;
  return r;
}

spdlog::logger& get(std::size_t i) { return *reg().loggers[i]; }

}  // namespace

void set_up(format f) {
  for (auto& l : reg().loggers) l->set_formatter(make_formatter(f));
  spdlog::set_default_logger(reg().loggers[0]);
}

bool parse_format(std::string_view s, format& out) {
  if (s == "text") out = format::text;
  else if (s == "json") out = format::json;
  else return false;
  return true;
}

void apply(const config::log_levels& levels) {
  for (std::size_t i = 0; i < config::logger_names.size(); ++i) {
    const auto named = levels.loggers.find(std::string(config::logger_names[i]));
    get(i).set_level(spdlog::level::from_str(named != levels.loggers.end() ? named->second : levels.all));
  }
}

spdlog::logger& relay() { return get(0); }
spdlog::logger& auth() { return get(1); }
spdlog::logger& upstream() { return get(2); }
spdlog::logger& config() { return get(3); }
spdlog::logger& audit() { return get(4); }
spdlog::logger& keys() { return get(5); }
spdlog::logger& admin() { return get(6); }

}  // namespace kgw::log

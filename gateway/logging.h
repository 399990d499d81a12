#pragma once
// The gateway's loggers, one per area (config/log_levels.h names them), all writing to stderr
// through one sink, as text or as JSON lines (one object per line: time, level, logger,
// message), each with its own level. After set_up(), spdlog's default logger is `relay` (code
// outside these areas and third-party spdlog calls land there).
// Threading: the loggers are made on first use (a thread-safe static); set_up() once at start,
// before other threads; apply() from any thread (spdlog's levels are atomics); the loggers
// themselves are thread-safe (spdlog *_mt sinks).
#include <spdlog/logger.h>

#include <string_view>

#include "config/log_levels.h"

namespace kgw::log {

enum class format { text, json };

// Sets the format and makes `relay` spdlog's default logger: once at start, before other threads.
void set_up(format f);
// "text" / "json"; false for anything else.
bool parse_format(std::string_view s, format& out);
// Sets each logger's level.
void apply(const config::log_levels& levels);

spdlog::logger& relay();
spdlog::logger& auth();
spdlog::logger& upstream();
spdlog::logger& config();
spdlog::logger& audit();
spdlog::logger& keys();
spdlog::logger& admin();

}  // namespace kgw::log

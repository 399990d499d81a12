#include "config/log_levels.h"

#include <algorithm>

namespace kgw::config {

namespace {
bool is_level(std::string_view s) { return std::find(level_names.begin(), level_names.end(), s) != level_names.end(); }

std::string words(const auto& list) {
  std::string out;
  for (auto w : list) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}
}  // namespace

std::expected<log_levels, std::string> parse_log_levels(std::string_view spec) {
  log_levels out;
  bool base_seen = false;
  while (true) {
    const auto comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return std::unexpected("an empty entry (write LEVEL or LOGGER=LEVEL, separated by commas)");
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      if (!is_level(item)) return std::unexpected("unknown level '" + std::string(item) + "' (" + words(level_names) + ")");
      if (base_seen) return std::unexpected("two levels for every logger ('" + out.all + "' and '" + std::string(item) + "')");
      base_seen = true;
      out.all = std::string(item);
    } else {
      const std::string_view name = item.substr(0, eq), level = item.substr(eq + 1);
      if (std::find(logger_names.begin(), logger_names.end(), name) == logger_names.end())
        return std::unexpected("unknown logger '" + std::string(name) + "' (" + words(logger_names) + ")");
      if (!is_level(level))
        return std::unexpected("unknown level '" + std::string(level) + "' for " + std::string(name) + " (" +
                               words(level_names) + ")");
      if (!out.loggers.emplace(std::string(name), std::string(level)).second)
        return std::unexpected("logger '" + std::string(name) + "' named twice");
    }
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace kgw::config

#include "gateway/usage_report.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <vector>

#include "policies/json/json_doc.h"

namespace kgw::gateway {

namespace {

constexpr std::string_view bytes_metric = "kafka_gateway_traffic_bytes_total";
constexpr std::string_view records_metric = "kafka_gateway_traffic_records_total";

// Label values of `{a="x",b="y"}` (Prometheus escapes: \\, \", \n).
std::expected<std::map<std::string, std::string>, std::string> labels_of(std::string_view s) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto eq = s.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return std::unexpected("bad labels");
    const std::string name(s.substr(i, eq - i));
    std::string value;
    std::size_t j = eq + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
        value += s[j] == 'n' ? '\n' : s[j];
      } else {
        value += s[j];
      }
    }
    if (j >= s.size()) return std::unexpected("unterminated label value");
    out[name] = std::move(value);
    i = j + 1;
    if (i < s.size() && s[i] == ',') ++i;
  }
  return out;
}

std::uint64_t to_count(std::string_view v) {
  double d = 0;
  std::from_chars(v.data(), v.data() + v.size(), d);
  return d > 0 ? static_cast<std::uint64_t>(d + 0.5) : 0;
}

std::string human_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace

std::expected<usage_table, std::string> usage_from_metrics(std::string_view text) {
  usage_table t;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    const bool bytes = line.starts_with(bytes_metric) && line.size() > bytes_metric.size() && line[bytes_metric.size()] == '{';
    const bool records =
        line.starts_with(records_metric) && line.size() > records_metric.size() && line[records_metric.size()] == '{';
    if (!bytes && !records) continue;
    const auto open = line.find('{'), close = line.rfind('}');
    if (close == std::string_view::npos || close < open)
      return std::unexpected("line " + std::to_string(line_no) + ": no closing brace");
    auto labels = labels_of(line.substr(open + 1, close - open - 1));
    if (!labels) return std::unexpected("line " + std::to_string(line_no) + ": " + labels.error());
    std::string_view value = line.substr(close + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    value = value.substr(0, value.find(' '));  // a timestamp may follow
    auto& c = t[{(*labels)["principal"], (*labels)["topic"], (*labels)["api"]}];
    (bytes ? c.bytes : c.records) = to_count(value);
  }
  return t;
}

usage_table usage_between(const usage_table& before, const usage_table& after) {
  usage_table out;
  for (const auto& [k, a] : after) {
    usage_counts d = a;
    if (auto it = before.find(k); it != before.end()) {
      if (a.bytes >= it->second.bytes) d.bytes = a.bytes - it->second.bytes;
      if (a.records >= it->second.records) d.records = a.records - it->second.records;
    }
    if (d.bytes || d.records) out[k] = d;
  }
  return out;
}

std::expected<void, std::string> add_usage_from_audit(std::string_view lines, std::string_view from,
                                                      std::string_view to, usage_table& into) {
  policies::json::json_doc doc;
  std::size_t line_no = 0;
  auto member = [&](std::uint32_t node, std::string_view path) -> std::uint32_t {
    while (!path.empty() && node != policies::json::npos) {
      const auto dot = path.find('.');
      node = doc.find_member(node, path.substr(0, dot));
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    return node;
  };
  auto text = [&](std::string_view path) {
    std::string s;
    const auto n = member(policies::json::json_doc::root(), path);
    if (n != policies::json::npos && doc.type(n) == policies::json::json_type::string) doc.string_value(n, s);
    return s;
  };
  auto number = [&](std::string_view path) -> std::uint64_t {
    const auto n = member(policies::json::json_doc::root(), path);
    if (n == policies::json::npos || doc.type(n) != policies::json::json_type::number) return 0;
    return to_count(doc.text(n));
  };
  while (!lines.empty()) {
    const auto nl = lines.find('\n');
    const std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!doc.parse(line)) return std::unexpected("line " + std::to_string(line_no) + ": not JSON");
    if (text("type") != "kafka.gateway.traffic") continue;
    // A rollup counts when its window lies in the period; a per-request event by its time.
    std::string start = text("data.window.start"), end = text("data.window.end");
    if (start.empty()) start = end = text("time");
    if (!from.empty() && start < from) continue;
    if (!to.empty() && end > to) continue;
    auto& c = into[{text("data.principal"), text("data.resource.name"), text("data.api")}];
    c.records += number("data.records");
    c.bytes += number("data.bytes");
  }
  return {};
}

std::string format_usage(const usage_table& t, bool csv) {
  std::string out;
  if (csv) {
    out = "principal,topic,api,records,bytes\n";
    auto field = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    for (const auto& [k, c] : t)
      out += field(k.principal) + "," + field(k.topic) + "," + field(k.api) + "," + std::to_string(c.records) + "," +
             std::to_string(c.bytes) + "\n";
    return out;
  }
  std::vector<std::array<std::string, 5>> rows{{"PRINCIPAL", "TOPIC", "API", "RECORDS", "BYTES"}};
  usage_counts total;
  for (const auto& [k, c] : t) {
    rows.push_back({k.principal, k.topic, k.api, std::to_string(c.records),
                    std::to_string(c.bytes) + " (" + human_bytes(c.bytes) + ")"});
    total.records += c.records;
    total.bytes += c.bytes;
  }
  rows.push_back({"total", "", "", std::to_string(total.records),
                  std::to_string(total.bytes) + " (" + human_bytes(total.bytes) + ")"});
  std::array<std::size_t, 5> width{};
  for (const auto& r : rows)
    for (std::size_t i = 0; i < 5; ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < 5; ++i) {
      const std::string& cell = r[i];
      const std::string pad(width[i] - cell.size(), ' ');
      line += i >= 3 ? pad + cell : cell + pad;  // numbers right-aligned
      if (i < 4) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace kgw::gateway

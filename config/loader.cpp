// YAML -> gateway_config, strict: unknown keys and wrong types are errors, each reported as
// "file:line:col: message" (yaml-cpp marks are 0-based; editors count from 1).
#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace kgw::config {
namespace {

struct config_error {
  std::string message;
};

class parser {
 public:
  explicit parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const {
    const YAML::Mark m = n.Mark();
    std::ostringstream os;
    os << source_ << ':';
    if (m.line >= 0)
      os << (m.line + 1) << ':' << (m.column + 1);
    else
      os << "1:1";
    os << ": " << msg;
    throw config_error{os.str()};
  }

  void require_map(const YAML::Node& n, const std::string& what) const {
    if (!n.IsMap()) fail(n, what + " must be a mapping");
  }

  // Rejects keys that are not in `allowed`: a typo must not silently become a default.
  void only_keys(const YAML::Node& n, const std::string& what, std::initializer_list<const char*> allowed) const {
    for (const auto& kv : n) {
      const auto key = kv.first.as<std::string>();
      bool found = false;
      for (const char* a : allowed) found = found || key == a;
      if (!found) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
      }
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a scalar");
    return n.Scalar();
  }

  long long integer(const YAML::Node& n, const std::string& what, long long lo, long long hi) const {
    const std::string s = scalar(n, what);
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) fail(n, what + " must be an integer, got '" + s + "'");
    if (v < lo || v > hi)
      fail(n, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + s);
    return v;
  }

  host_port endpoint(const YAML::Node& n, const std::string& what) const { return endpoint(scalar(n, what), n, what); }

  // `at` is the node errors point to.
  host_port endpoint(const std::string& s, const YAML::Node& n, const std::string& what) const {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
      fail(n, what + " must be host:port, got '" + s + "'");
    host_port hp;
    hp.host = s.substr(0, colon);
    if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
    unsigned port = 0;
    const char* b = s.data() + colon + 1;
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), port);
    if (ec != std::errc{} || p != s.data() + s.size() || port == 0 || port > 65535)
      fail(n, what + " has an invalid port in '" + s + "'");
    hp.port = static_cast<std::uint16_t>(port);
    return hp;
  }

  // "30s", "500ms", "10m", or a plain number of milliseconds.
  std::chrono::milliseconds duration(const YAML::Node& n, const std::string& what) const {
    const std::string s = scalar(n, what);
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || v < 0) fail(n, what + " must be a duration like 30s, 500ms or 10m, got '" + s + "'");
    const std::string unit(p, s.data() + s.size());
    if (unit.empty() || unit == "ms") return std::chrono::milliseconds(v);
    if (unit == "s") return std::chrono::seconds(v);
    if (unit == "m") return std::chrono::minutes(v);
    if (unit == "h") return std::chrono::hours(v);
    fail(n, what + " has an unknown unit '" + unit + "' (use ms, s, m or h)");
  }

  // "100MiB", "64KiB", "1GiB" or a plain number of bytes.
  std::size_t size_bytes(const YAML::Node& n, const std::string& what) const {
    const std::string s = scalar(n, what);
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{}) fail(n, what + " must be a size like 100MiB, got '" + s + "'");
    const std::string unit(p, s.data() + s.size());
    unsigned long long mult = 1;
    if (unit == "KiB")
      mult = 1ull << 10;
    else if (unit == "MiB")
      mult = 1ull << 20;
    else if (unit == "GiB")
      mult = 1ull << 30;
    else if (!unit.empty() && unit != "B")
      fail(n, what + " has an unknown unit '" + unit + "' (use B, KiB, MiB or GiB)");
    return static_cast<std::size_t>(v * mult);
  }

  void gateway_section(const YAML::Node& g, gateway_config& c) const {
    require_map(g, "'gateway'");
    only_keys(g, "'gateway'",
              {"listen", "advertised_host", "broker_ports", "workers", "max_frame_size", "idle_timeout",
               "upstream_connect_timeout", "log_level"});
    if (auto n = g["listen"]) c.listen = endpoint(n, "gateway.listen");
    if (auto n = g["advertised_host"]) {
      c.advertised_host = scalar(n, "gateway.advertised_host");
      if (c.advertised_host.empty()) fail(n, "gateway.advertised_host must not be empty");
    }
    if (auto n = g["broker_ports"]) {
      const std::string s = scalar(n, "gateway.broker_ports");
      unsigned a = 0, b = 0;
      const auto dash = s.find('-');
      bool ok = dash != std::string::npos;
      if (ok) {
        auto r1 = std::from_chars(s.data(), s.data() + dash, a);
        auto r2 = std::from_chars(s.data() + dash + 1, s.data() + s.size(), b);
        ok = r1.ec == std::errc{} && r1.ptr == s.data() + dash && r2.ec == std::errc{} && r2.ptr == s.data() + s.size();
      }
      if (!ok || a == 0 || b > 65535 || a > b)
        fail(n, "gateway.broker_ports must be a range FIRST-LAST of ports, got '" + s + "'");
      c.broker_port_first = static_cast<std::uint16_t>(a);
      c.broker_port_last = static_cast<std::uint16_t>(b);
    }
    if (auto n = g["workers"]) c.workers = static_cast<int>(integer(n, "gateway.workers", 0, 1024));
    if (auto n = g["max_frame_size"]) {
      c.max_frame_bytes = size_bytes(n, "gateway.max_frame_size");
      if (c.max_frame_bytes < 1024 || c.max_frame_bytes > (1ull << 31) - 1)
        fail(n, "gateway.max_frame_size must be between 1KiB and 2GiB");
    }
    if (auto n = g["idle_timeout"]) c.idle_timeout = duration(n, "gateway.idle_timeout");
    if (auto n = g["upstream_connect_timeout"])
      c.upstream_connect_timeout = duration(n, "gateway.upstream_connect_timeout");
    if (auto n = g["log_level"]) {
      c.log_level = scalar(n, "gateway.log_level");
      static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!levels.contains(c.log_level)) fail(n, "gateway.log_level must be one of trace, debug, info, warn, error, critical, off");
    }
    if (c.listen.port >= c.broker_port_first && c.listen.port <= c.broker_port_last)
      fail(g["listen"] ? g["listen"] : g, "gateway.listen port must not be inside gateway.broker_ports");
  }

  void upstream_section(const YAML::Node& u, gateway_config& c) const {
    require_map(u, "'upstream'");
    only_keys(u, "'upstream'", {"bootstrap", "embedded"});
    const auto bs = u["bootstrap"];
    const auto em = u["embedded"];
    if (bs && em) fail(em, "upstream: give either 'bootstrap' or 'embedded', not both");
    if (!bs && !em) fail(u, "upstream needs 'bootstrap' (real brokers) or 'embedded' (in-process broker)");
    if (bs) {
      if (bs.IsScalar()) {
        // Also accept a comma-separated string, the way Kafka clients take bootstrap.servers.
        std::string s = bs.Scalar();
        std::size_t start = 0;
        while (start <= s.size()) {
          auto comma = s.find(',', start);
          if (comma == std::string::npos) comma = s.size();
          std::string item = s.substr(start, comma - start);
          if (!item.empty()) c.upstream_bootstrap.push_back(endpoint(item, bs, "upstream.bootstrap"));
          start = comma + 1;
        }
      } else if (bs.IsSequence()) {
        for (const auto& e : bs) c.upstream_bootstrap.push_back(endpoint(e, "upstream.bootstrap entry"));
      } else {
        fail(bs, "upstream.bootstrap must be a list of host:port");
      }
      if (c.upstream_bootstrap.empty()) fail(bs, "upstream.bootstrap must list at least one broker");
    }
    if (em) {
      require_map(em, "upstream.embedded");
      only_keys(em, "upstream.embedded", {"brokers", "topics"});
      embedded_upstream e;
      if (auto n = em["brokers"]) e.brokers = static_cast<int>(integer(n, "upstream.embedded.brokers", 1, 16));
      if (auto ts = em["topics"]) {
        if (!ts.IsSequence()) fail(ts, "upstream.embedded.topics must be a list");
        for (const auto& t : ts) {
          require_map(t, "topic");
          only_keys(t, "topic", {"name", "partitions"});
          topic_spec spec;
          if (!t["name"]) fail(t, "topic needs a 'name'");
          spec.name = scalar(t["name"], "topic name");
          if (spec.name.empty()) fail(t["name"], "topic name must not be empty");
          if (auto p = t["partitions"]) spec.partitions = static_cast<int>(integer(p, "topic partitions", 1, 10000));
          e.topics.push_back(std::move(spec));
        }
      }
      c.embedded = std::move(e);
    }
  }

  gateway_config parse(const YAML::Node& root) const {
    gateway_config c;
    c.source = source_;
    if (!root.IsDefined() || root.IsNull()) throw config_error{source_ + ":1:1: empty configuration"};
    require_map(root, "the configuration");
    only_keys(root, "the configuration", {"gateway", "upstream"});
    if (auto g = root["gateway"]) gateway_section(g, c);
    if (auto u = root["upstream"])
      upstream_section(u, c);
    else
      fail(root, "missing 'upstream' section");
    return c;
  }

 private:
  std::string source_;
};

}  // namespace

std::expected<gateway_config, std::string> load_string(std::string_view yaml, const std::string& source_name) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    return parser(source_name).parse(root);
  } catch (const config_error& e) {
    return std::unexpected(e.message);
  } catch (const YAML::Exception& e) {
    // yaml-cpp syntax errors carry a mark too.
    std::ostringstream os;
    os << source_name << ':' << (e.mark.line + 1) << ':' << (e.mark.column + 1) << ": " << e.msg;
    return std::unexpected(os.str());
  }
}

std::expected<gateway_config, std::string> load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path + ":1:1: cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}

}  // namespace kgw::config

// The quota policy's section reader: see policies/quota/quota_config.h.
#include "policies/quota/quota_config.h"

#include <yaml-cpp/yaml.h>

#include "policies/policy_reader.h"

namespace kgw::policies {
namespace {

class quota_reader : public policy_reader {
 public:
  using policy_reader::policy_reader;

  void read(std::string_view, const YAML::Node& value, quota_section& into) const {
    require_map(value, "'quotas'");
    only_keys(value, "'quotas'", {"instances", "window", "rules", "per_address"});
    if (auto n = value["instances"]) into.instances = static_cast<int>(integer(n, "quotas.instances", 1, 10000));
    if (auto w = value["window"]) {
      require_map(w, "quotas.window");
      only_keys(w, "quotas.window", {"samples", "size"});
      if (auto n = w["samples"]) into.samples = static_cast<int>(integer(n, "quotas.window.samples", 2, 100));
      if (auto n = w["size"]) {
        into.window = duration(n, "quotas.window.size");
        if (into.window < std::chrono::milliseconds(100) || into.window > std::chrono::minutes(1))
          fail(n, "quotas.window.size must be between 100ms and 1m");
      }
    }
    if (auto r = value["rules"])
      for (const auto& e : sequence(r, "quotas.rules")) rule(e, into);
    if (auto a = value["per_address"]) {
      require_map(a, "quotas.per_address");
      only_keys(a, "quotas.per_address", {"max_connections", "connections_per_second"});
      connections(a, "quotas.per_address", into.per_address.max_connections, into.per_address.connections_per_second);
      if (into.per_address.empty()) fail(a, "quotas.per_address needs max_connections or connections_per_second");
    }
  }

  void connections(const YAML::Node& e, const std::string& what, std::optional<int>& max,
                   std::optional<double>& rate) const {
    if (auto n = e["max_connections"]) max = static_cast<int>(integer(n, what + " max_connections", 1, 10'000'000));
    if (auto n = e["connections_per_second"])
      rate = static_cast<double>(integer(n, what + " connections_per_second", 1, 10'000'000));
  }

  void rule(const YAML::Node& e, quota_section& into) const {
    require_map(e, "a quota rule");
    only_keys(e, "a quota rule",
              {"principals", "teams", "everyone", "client_ids", "produce_bytes_per_second", "fetch_bytes_per_second",
               "requests_per_second", "max_connections", "connections_per_second"});
    quota_rule q;
    q.at = mark_of(e);
    if (auto c = e["client_ids"]) {
      for (const auto& id : items(c, "a quota rule's client_ids")) q.client_ids.push_back(nonempty(id, "a client_ids entry"));
    }
    // client_ids alone is Kafka's client-id quota; else the rule names whose connections count.
    if (!q.client_ids.empty() && !e["principals"] && !e["teams"] && !e["everyone"])
      q.any_principal = true;
    else
      q.who = who(e, "a quota rule");
    auto rate = [&](const char* key) -> std::optional<double> {
      auto n = e[key];
      if (!n) return std::nullopt;
      const auto v = size_bytes(n, std::string("quotas ") + key);
      if (v == 0) fail(n, std::string(key) + " must be more than 0 (to refuse a principal, use an ACL)");
      return static_cast<double>(v);
    };
    q.produce_bytes_per_second = rate("produce_bytes_per_second");
    q.fetch_bytes_per_second = rate("fetch_bytes_per_second");
    if (auto n = e["requests_per_second"])
      q.requests_per_second = static_cast<double>(integer(n, "quotas requests_per_second", 1, 10'000'000));
    connections(e, "a quota rule's", q.max_connections, q.connections_per_second);
    if (!q.client_ids.empty() && (q.max_connections || q.connections_per_second))
      fail(e, "a quota rule with client_ids cannot limit connections (they are counted per principal, before a "
              "connection names its client id)");
    if (!q.produce_bytes_per_second && !q.fetch_bytes_per_second && !q.requests_per_second && !q.max_connections &&
        !q.connections_per_second)
      fail(e, "a quota rule needs produce_bytes_per_second, fetch_bytes_per_second, requests_per_second, "
              "max_connections or connections_per_second");
    into.rules.push_back(std::move(q));
  }
};

constexpr const char* section_keys[] = {"quotas"};

}  // namespace

const config::section_reader quota_section_reader{section_keys, quota_section::make,
                                                     read_section<quota_reader, quota_section>};

std::shared_ptr<const policy> compile_quota_policy(policy_set&, std::string_view) { return nullptr; }

std::string quota_section::summary() const {
  return std::to_string(rules.size()) + (rules.size() == 1 ? " quota rule" : " quota rules");
}

}  // namespace kgw::policies

#pragma once
// The quota policy's part of the policy documents, read from this key
// (policies/quota/quota_config.cpp):
//
//   quotas:
//     instances: 3          # gateway instances in front of the cluster: each enforces rate / 3
//     window: { samples: 11, size: 1s }    # Kafka's quota.window.num / quota.window.size.seconds
//     rules:
//       - principals: [ingest]             # exactly one of: principals / teams / everyone: true
//         produce_bytes_per_second: 10MiB
//         fetch_bytes_per_second: 50MiB
//         max_connections: 20              # open at once, counted once authenticated
//         connections_per_second: 5        # new connections, over the same sliding window
//     per_address:                         # per client IP address, checked on accept
//       max_connections: 100               # Kafka's max.connections.per.ip
//       connections_per_second: 20         # KIP-612's connection creation rate per IP
//
// Quotas are per principal, as Kafka's user quotas: every connection of the principal, on every
// worker, counts against one rate. Which rule sets a principal's quota, per quota kind: a rule
// naming the principal, else one naming one of its teams, else an `everyone` rule (the first of
// a level in file order), as Kafka prefers a user's own quota to the default one.
// Threading: plain values, read-only after loading.
#include <chrono>
#include <memory>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

#include "config/policy_config.h"

namespace kgw::policies {

struct quota_rule {
  config::subject who;
  std::optional<double> produce_bytes_per_second, fetch_bytes_per_second;
  config::source_mark at;
  std::optional<int> max_connections;
  std::optional<double> connections_per_second;
  bool operator==(const quota_rule&) const = default;
};

// Connection limits per client address (every listener together).
struct connection_limit {
  std::optional<int> max_connections;
  std::optional<double> connections_per_second;
  bool empty() const { return !max_connections && !connections_per_second; }
  bool operator==(const connection_limit&) const = default;
};

struct quota_section final : config::section_of<quota_section> {
  int instances = 1;
  int samples = 11;
  std::chrono::milliseconds window{1000};
  std::vector<quota_rule> rules;
  connection_limit per_address;

  bool empty() const override { return rules.empty() && per_address.empty(); }
  std::string summary() const override;
  bool operator==(const quota_section&) const = default;
};

extern const config::section_reader quota_section_reader;

class policy;
class policy_set;
// Quotas have no message-level policy (the relay applies them per frame, quota_book.h): the
// registry line reads the section, and this returns null for every principal.
std::shared_ptr<const policy> compile_quota_policy(policy_set& snapshot, std::string_view principal);

}  // namespace kgw::policies

#pragma once
// The quota policy's part of the policy documents, read from this key
// (policies/quota/quota_config.cpp):
//
//   quotas:
//     instances: 3          # gateway instances in front of the cluster: each enforces rate / 3
//     window: { samples: 11, size: 1s }    # Kafka's quota.window.num / quota.window.size.seconds
//     rules:
//       - principals: [ingest]             # at most one of: principals / teams / everyone: true
//         produce_bytes_per_second: 10MiB
//         fetch_bytes_per_second: 50MiB
//         requests_per_second: 500         # requests of every API (KIP-124's request quota, as a rate)
//         max_connections: 20              # open at once, counted once authenticated
//         connections_per_second: 5        # new connections, over the same sliding window
//       - principals: [ingest]
//         client_ids: [backfill]           # this principal's connections with this client id
//         produce_bytes_per_second: 1MiB
//       - client_ids: [legacy-app]         # a client id whoever the principal (Kafka's client quota)
//         fetch_bytes_per_second: 1MiB
//     per_address:                         # per client IP address, checked on accept
//       max_connections: 100               # Kafka's max.connections.per.ip
//       connections_per_second: 20         # KIP-612's connection creation rate per IP
//
// Quotas are Kafka's quota entities: a rule naming principals, teams or everyone is a user quota
// (every connection of the principal, on every worker, counts against one rate); `client_ids`
// narrows it to the connections whose client.id is listed ("*": each client id on its own, as
// Kafka's <default> client id), metered per (principal, client id); `client_ids` alone is a
// client-id quota, metered per client id across principals. Which rule sets a connection's
// quota, per quota kind, in Kafka's order of precedence (the first of a level in file order):
//   principal + client id, principal + "*", principal,
//   team + client id, team + "*", team,          (teams sit between a user and the default user)
//   everyone + client id, everyone + "*", everyone,
//   client id, "*".
// Connection limits are per principal: a rule with client_ids cannot set them (a connection's
// client id is known only from its first request).
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
  bool any_principal = false;            // client_ids alone: no principal, team or everyone named
  std::vector<std::string> client_ids;   // empty: every client id, not metered by it; "*": each one
  std::optional<double> produce_bytes_per_second, fetch_bytes_per_second, requests_per_second;
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

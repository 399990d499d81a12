#pragma once
// A gateway started from files, as `kafka-gateway --config FILE` runs: <dir>/gateway.yaml (the
// gateway settings, plus what the test adds) with its policies in <dir>/policies.yaml, in front
// of an embedded broker (one broker, the topics given). Used by the reload and audit tests,
// which change the files under a running gateway. Every decision is recorded (decision_log).
// Threading: construct, use and destroy on the test thread; decisions are recorded from the
// gateway's threads under a mutex.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/dev/embedded_cluster.h"
#include "policies/decision.h"

namespace kgw::gateway {
class gateway;
class reloader;
}  // namespace kgw::gateway

namespace kgw::e2e {

// A decision as the stream delivered it, copied (the event's views live only during the call).
struct recorded {
  policies::decision_kind kind;
  std::uint64_t generation;
  std::string principal, resource_type, resource, detail;
  std::int16_t api_key, error;
  bool accepted;
  policies::tally_counts counts;
};

class decision_log {
 public:
  void add(const policies::decision& d);
  std::vector<recorded> of(policies::decision_kind k) const;

 private:
  mutable std::mutex mu_;
  std::vector<recorded> events_;
};

// Replaces the file whole, as editors and ConfigMap updates do.
void write_file(const std::filesystem::path& p, const std::string& text);

class file_gateway {
 public:
  // extra(port): more top-level sections of gateway.yaml (with `listeners`, the shorthand
  // listener goes); port is the first of 12 free ports, the shorthand listener takes
  // port..port+5. topics: the embedded broker's.
  file_gateway(const std::function<std::string(std::uint16_t port)>& extra, const std::string& policies_yaml,
               const std::vector<gateway::embedded_topic>& topics = {{"customers", 2}});
  ~file_gateway();  // stops the gateway, removes the directory

  // gateway_keys: more settings in the `gateway` section.
  void write_gateway(const std::string& extra_yaml, const std::string& gateway_keys = "");
  void write_policies(const std::string& yaml) { write_file(dir_ / "policies.yaml", yaml); }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  gateway::embedded_cluster& cluster() { return cluster_; }
  gateway::gateway& gw() { return *gw_; }
  gateway::reloader& reloader() { return *reloader_; }
  int connections() const { return connections_.load(); }
  const decision_log& decisions() const { return decisions_; }
  // Stops the gateway now (the destructor then only cleans up).
  void stop();

 private:
  gateway::embedded_cluster cluster_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::string upstream_yaml_;
  std::atomic<int> connections_{0};
  decision_log decisions_;
  std::unique_ptr<gateway::gateway> gw_;
  std::unique_ptr<gateway::reloader> reloader_;
};

}  // namespace kgw::e2e

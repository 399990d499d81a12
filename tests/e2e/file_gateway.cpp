#include "tests/e2e/file_gateway.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "config/loader.h"
#include "gateway/config_extensions.h"
#include "gateway/gateway.h"
#include "gateway/reloader.h"
#include "tests/e2e/e2e_environment.h"

namespace kgw::e2e {
namespace fs = std::filesystem;

void decision_log::add(const policies::decision& d) {
  std::lock_guard lk(mu_);
  events_.push_back({d.kind, d.generation, std::string(d.principal), std::string(d.resource_type),
                     std::string(d.resource), std::string(d.detail), d.api_key, d.error, d.accepted, d.counts});
}

std::vector<recorded> decision_log::of(policies::decision_kind k) const {
  std::lock_guard lk(mu_);
  std::vector<recorded> out;
  for (const auto& e : events_)
    if (e.kind == k) out.push_back(e);
  return out;
}

void write_file(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, p);
}

file_gateway::file_gateway(const std::function<std::string(std::uint16_t port)>& extra,
                           const std::string& policies_yaml, const std::vector<gateway::embedded_topic>& topics)
    : cluster_(1, topics) {
  const char* level = std::getenv("KGW_E2E_LOG");
  spdlog::set_level(spdlog::level::from_str(level && *level ? level : "warn"));
  char tmpl[] = "/tmp/kgw-files-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  port_ = find_free_port_block(12);
  upstream_yaml_ = "upstream:\n  bootstrap: [127.0.0.1:" + std::to_string(cluster_.broker_ports()[0]) +
                   "]\npolicies: policies.yaml\n";
  write_file(dir_ / "policies.yaml", policies_yaml);
  write_gateway(extra(port_));
  auto cfg = config::load_file((dir_ / "gateway.yaml").string(), gateway::config_extensions());
  INFO((cfg ? "" : cfg.error()));
  REQUIRE(cfg);
  auto policy_paths = cfg->policies.paths;
  gw_ = std::make_unique<gateway::gateway>(std::move(*cfg));
  gw_->set_auth_tap([this](std::string_view, std::string_view, std::string_view) { ++connections_; });
  gw_->subscribe([this](const policies::decision& d) { decisions_.add(d); });
  gw_->start();
  reloader_ = std::make_unique<gateway::reloader>(*gw_, (dir_ / "gateway.yaml").string(), std::move(policy_paths));
}

void file_gateway::stop() {
  reloader_.reset();
  if (gw_) gw_->stop();
}

file_gateway::~file_gateway() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void file_gateway::write_gateway(const std::string& extra_yaml, const std::string& gateway_keys) {
  std::string g = "gateway:\n  workers: 2\n" + gateway_keys;
  if (extra_yaml.find("listeners:") == std::string::npos)
    g += "  listen: 127.0.0.1:" + std::to_string(port_) + "\n  advertised_host: 127.0.0.1\n  broker_ports: " +
         std::to_string(port_ + 1) + "-" + std::to_string(port_ + 5) + "\n";
  write_file(dir_ / "gateway.yaml", g + upstream_yaml_ + extra_yaml);
}

}  // namespace kgw::e2e

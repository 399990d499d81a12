#pragma once
// Reloads the gateway's configuration file: when asked (SIGHUP) and, once watch() is called,
// when the file, a policy file or a policy directory changes (inotify on their directories, so
// editors' rename-over and Kubernetes ConfigMap symlink swaps are seen too). A reload reads and
// validates everything first: a file that does not load is rejected with its file:line:col
// errors in the log and the live generation keeps serving; see gateway::reload for what is
// applied live and what needs a restart.
// Threading: reload_now() may be called from any thread (reloads are serialized); watch() runs
// one thread of its own until the reloader is destroyed.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/gateway.h"

namespace kgw::gateway {

class reloader {
 public:
  // policy_paths: what the running configuration's `policies:` names (config::policy_config::paths),
  // watched until a reload names others. adjust: applied to every configuration loaded, as at
  // start-up (the --upstream override).
  reloader(gateway& gw, std::string config_path, std::vector<std::string> policy_paths,
           std::function<void(config::gateway_config&)> adjust = {});
  ~reloader();
  reloader(const reloader&) = delete;
  reloader& operator=(const reloader&) = delete;

  // Loads, validates and applies the file now, and logs the outcome. `trigger` names the cause
  // in the log ("SIGHUP", "file change").
  reload_result reload_now(const std::string& trigger);

  // Watches the files from now on; a change reloads once the files have been quiet for `settle`
  // (an editor or a ConfigMap update writes several times). Throws std::runtime_error when
  // inotify is unavailable.
  void watch(std::chrono::milliseconds settle = std::chrono::milliseconds(300));

 private:
  struct watcher;
  std::set<std::string> dirs() const;  // what to watch, as the last load named it

  gateway& gw_;
  std::string path_;
  std::function<void(config::gateway_config&)> adjust_;
  mutable std::mutex mu_;                 // one reload at a time
  std::vector<std::string> policy_paths_;  // the policy files and directories last loaded
  std::unique_ptr<watcher> watcher_;      // last: its thread stops before the rest goes
};

}  // namespace kgw::gateway

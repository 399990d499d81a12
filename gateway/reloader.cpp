#include "gateway/reloader.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "config/loader.h"
#include "gateway/config_extensions.h"
#include "gateway/logging.h"

namespace kgw::gateway {

namespace {

// The directories whose changes may change the configuration: the config file's, each policy
// directory, each policy file's.
std::set<std::string> watched_dirs(const std::string& config_path, const std::vector<std::string>& policy_paths) {
  namespace fs = std::filesystem;
  std::set<std::string> dirs;
  auto parent = [](const std::string& p) {
    const auto d = fs::path(p).parent_path();
    return d.empty() ? std::string(".") : d.string();
  };
  dirs.insert(parent(config_path));
  for (const auto& p : policy_paths) {
    std::error_code ec;
    dirs.insert(fs::is_directory(p, ec) ? p : parent(p));
  }
  return dirs;
}

}  // namespace

struct reloader::watcher {
  reloader& owner;
  std::chrono::milliseconds settle;
  int inotify_fd = -1, stop_fd = -1;
  std::map<int, std::string> watches;  // watch descriptor -> directory
  std::thread thread;

  watcher(reloader& o, std::chrono::milliseconds s) : owner(o), settle(s) {
    inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inotify_fd < 0 || stop_fd < 0) {
      close_fds();
      throw std::runtime_error("cannot watch the configuration: inotify is unavailable");
    }
  }
  ~watcher() {
    if (thread.joinable()) {
      const std::uint64_t one = 1;
      (void)::write(stop_fd, &one, sizeof one);
      thread.join();
    }
    close_fds();
  }
  void close_fds() {
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (stop_fd >= 0) ::close(stop_fd);
  }

  // Watches exactly `dirs` (a reload may name other policy paths).
  void rewatch(const std::set<std::string>& dirs) {
    for (auto it = watches.begin(); it != watches.end();) {
      if (dirs.count(it->second)) {
        ++it;
        continue;
      }
      ::inotify_rm_watch(inotify_fd, it->first);
      it = watches.erase(it);
    }
    constexpr std::uint32_t events = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
    for (const auto& d : dirs) {
      bool have = false;
      for (const auto& [wd, dir] : watches) have = have || dir == d;
      if (have) continue;
      const int wd = ::inotify_add_watch(inotify_fd, d.c_str(), events);
      if (wd < 0)
        log::config().warn("cannot watch {} for configuration changes: {}", d, std::strerror(errno));
      else
        watches[wd] = d;
    }
  }

  void run() {
    bool pending = false;
    for (;;) {
      pollfd fds[2] = {{inotify_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      const int n = ::poll(fds, 2, pending ? static_cast<int>(settle.count()) : -1);
      if (n < 0 && errno == EINTR) continue;
      if (fds[1].revents) return;
      if (n == 0 && pending) {  // quiet for `settle`: reload once
        pending = false;
        owner.reload_now("file change");
        rewatch(owner.dirs());
        continue;
      }
      if (fds[0].revents) {
        alignas(inotify_event) char buf[8192];
        for (ssize_t n; (n = ::read(inotify_fd, buf, sizeof buf)) > 0;) {
          for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
            const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
            // A watched directory that went away (deleted, or moved: its watch would follow it
            // to its new name): drop the watch, so the next rewatch watches whatever now has
            // the name.
            if (ev->mask & (IN_IGNORED | IN_MOVE_SELF | IN_DELETE_SELF)) {
              if (!(ev->mask & IN_IGNORED)) ::inotify_rm_watch(inotify_fd, ev->wd);
              watches.erase(ev->wd);
            }
            at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
          }
        }
        pending = true;
      }
    }
  }
};

reloader::reloader(gateway& gw, std::string config_path, std::vector<std::string> policy_paths,
                   std::function<void(config::gateway_config&)> adjust)
    : gw_(gw), path_(std::move(config_path)), adjust_(std::move(adjust)), policy_paths_(std::move(policy_paths)) {}

reloader::~reloader() = default;

std::set<std::string> reloader::dirs() const {
  std::lock_guard lk(mu_);
  return watched_dirs(path_, policy_paths_);
}

reload_result reloader::reload_now(const std::string& trigger) {
  std::lock_guard lk(mu_);
  auto cfg = config::load_file(path_, config_extensions());
  reload_result r;
  if (!cfg) {
    r = gw_.reload_failed(cfg.error());
  } else {
    if (adjust_) adjust_(*cfg);
    policy_paths_ = cfg->policies.paths;
    r = gw_.reload(std::move(*cfg));
  }
  if (!r.accepted)
    log::config().error("configuration reload ({}) rejected, generation {} keeps serving: {}", trigger, r.generation,
                  r.message);
  else if (r.unchanged)
    log::config().info("configuration reload ({}): {} unchanged, generation {} keeps serving", trigger, path_, r.generation);
  else
    log::config().info("configuration generation {} live ({}): {}", r.generation, trigger, r.message);
  return r;
}

void reloader::watch(std::chrono::milliseconds settle) {
  if (watcher_) return;
  watcher_ = std::make_unique<watcher>(*this, settle);
  watcher_->rewatch(dirs());
  watcher_->thread = std::thread([w = watcher_.get()] { w->run(); });
  log::config().info("watching {} and its policies for changes", path_);
}

}  // namespace kgw::gateway

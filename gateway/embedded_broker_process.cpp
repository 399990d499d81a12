// The embedded broker as a child process: see embedded_broker_process.h.
#include "gateway/embedded_broker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/logging.h"

extern char** environ;

namespace kgw::gateway {

struct embedded_broker_process::state {
  std::string program;
  config::embedded_upstream spec;
  std::function<void(const std::string&)> on_restart;

  std::mutex mu;
  std::condition_variable cv;
  pid_t pid = 0;       // the running child, 0 when none
  int lifeline = -1;   // write end of the child's stdin: closing it (or dying) ends the child
  bool stopping = false;
  bool watcher_done = false;
  std::thread watcher;
};

namespace {

std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "stopped (status " + std::to_string(status) + ")";
}

// Waits for `pid` to end (the watcher's only way to learn of it) and returns its status.
int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Starts `program dev-cluster ...` and reads its bootstrap line. Returns the pid and the write
// end of its stdin; throws on failure (the child, if any, is reaped).
std::pair<pid_t, int> spawn_child(const std::string& program, const config::embedded_upstream& spec,
                                  std::string& bootstrap) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("embedded broker: pipe: ") + std::strerror(errno));
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    throw std::runtime_error(std::string("embedded broker: pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> args{program, "dev-cluster", "--exit-with-stdin", "--brokers", std::to_string(spec.brokers)};
  for (const auto& t : spec.topics) {
    args.push_back("--topic");
    args.push_back(t.name + ":" + std::to_string(t.partitions));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);   // dup2 clears close-on-exec
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group: a Ctrl-C meant for the gateway reaches the broker only through the
  // gateway's orderly stop. Signals as a fresh process has them.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    throw std::runtime_error("embedded broker: cannot run " + program + ": " + std::strerror(rc));
  }
  // The first line on its stdout is the bootstrap list.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string failure;
  while (failure.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure = "no bootstrap list within 30 s";
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[512];
    const ssize_t got = ::read(out_pipe[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      failure = "it exited before printing its bootstrap list";
      break;
    }
    line.append(buf, static_cast<std::size_t>(got));
    if (auto nl = line.find('\n'); nl != std::string::npos) {
      line.resize(nl);
      break;
    }
    if (line.size() > 64 * 1024) failure = "its first line is too long";
  }
  ::close(out_pipe[0]);  // dev-cluster writes nothing else to stdout
  if (!failure.empty() || line.empty()) {
    ::close(in_pipe[1]);
    ::kill(pid, SIGKILL);
    reap(pid);
    throw std::runtime_error("embedded broker: " + (failure.empty() ? std::string("empty bootstrap list") : failure));
  }
  bootstrap = line;
  return {pid, in_pipe[1]};
}

}  // namespace

embedded_broker_process::embedded_broker_process(std::string program, config::embedded_upstream spec)
    : s_(std::make_unique<state>()) {
  s_->program = std::move(program);
  s_->spec = std::move(spec);
}

embedded_broker_process::~embedded_broker_process() { stop(); }

std::string embedded_broker_process::self_program() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("embedded broker: cannot find the gateway's own program: " + ec.message());
  return p.string();
}

int embedded_broker_process::pid() const {
  std::lock_guard lk(s_->mu);
  return s_->pid;
}

std::string embedded_broker_process::start(std::function<void(const std::string&)> on_restart) {
  auto& s = *s_;
  std::string bootstrap;
  auto [pid, lifeline] = spawn_child(s.program, s.spec, bootstrap);
  {
    std::lock_guard lk(s.mu);
    s.pid = pid;
    s.lifeline = lifeline;
    s.on_restart = std::move(on_restart);
  }
  // Reaps the child; if it died while the gateway runs, starts a new one (after a pause that
  // grows while it keeps dying, so a broker that cannot start does not spin).
  s.watcher = std::thread([&s] {
    auto pause = std::chrono::seconds(1);
    std::unique_lock lk(s.mu);
    while (!s.stopping) {
      const pid_t child = s.pid;
      const auto since = std::chrono::steady_clock::now();
      lk.unlock();
      const int status = reap(child);
      lk.lock();
      s.pid = 0;
      close_fd(s.lifeline);
      if (s.stopping) break;
      log::upstream().error("embedded broker (pid {}) {}; the gateway keeps running and starts a new one (its topics start empty)",
                    child, describe_status(status));
      if (std::chrono::steady_clock::now() - since > std::chrono::minutes(1)) pause = std::chrono::seconds(1);
      // Start a new one, after a pause that grows while it keeps failing.
      while (!s.cv.wait_for(lk, pause, [&] { return s.stopping; })) {
        pause = std::min(pause * 2, std::chrono::seconds(30));
        lk.unlock();
        std::string bootstrap;
        std::pair<pid_t, int> started{0, -1};
        try {
          started = spawn_child(s.program, s.spec, bootstrap);
        } catch (const std::exception& e) {
          log::upstream().error("{}; trying again in {} s", e.what(), pause.count());
          lk.lock();
          continue;
        }
        lk.lock();
        s.pid = started.first;
        s.lifeline = started.second;
        if (s.stopping) {
          ::kill(s.pid, SIGTERM);  // reaped below
          break;
        }
        const pid_t started_pid = s.pid;
        lk.unlock();
        log::upstream().info("embedded broker restarted at {} (pid {})", bootstrap, started_pid);
        if (s.on_restart) s.on_restart(bootstrap);
        lk.lock();
        break;
      }
      if (s.stopping && s.pid > 0) {
        const pid_t last = s.pid;
        lk.unlock();
        reap(last);
        lk.lock();
        s.pid = 0;
        close_fd(s.lifeline);
      }
    }
    s.watcher_done = true;
    s.cv.notify_all();
  });
  return bootstrap;
}

void embedded_broker_process::stop() {
  auto& s = *s_;
  std::unique_lock lk(s.mu);
  if (!s.watcher.joinable()) return;
  s.stopping = true;
  s.cv.notify_all();
  close_fd(s.lifeline);  // the child exits when its stdin ends
  if (s.pid > 0) ::kill(s.pid, SIGTERM);
  if (!s.cv.wait_for(lk, std::chrono::seconds(5), [&] { return s.watcher_done; }) && s.pid > 0) {
    log::upstream().warn("embedded broker (pid {}) did not stop within 5 s; killing it", s.pid);
    ::kill(s.pid, SIGKILL);
  }
  lk.unlock();
  s.watcher.join();
}

}  // namespace kgw::gateway

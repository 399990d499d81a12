#include "tests/e2e/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace kgw::e2e {
namespace {

struct pipe_pair {
  int fd[2] = {-1, -1};
  pipe_pair() {
    if (pipe2(fd, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  ~pipe_pair() { close_all(); }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
  void close_all() {
    close_end(0);
    close_end(1);
  }
  int release(int i) { return std::exchange(fd[i], -1); }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string clip(const std::string& s, std::size_t n = 4000) {
  return s.size() <= n ? s : s.substr(0, n / 2) + "\n...[clipped]...\n" + s.substr(s.size() - n / 2);
}

}  // namespace

std::string process_result::describe() const {
  return "exit " + std::to_string(exit_code) + (timed_out ? " (killed at deadline)" : "") + "\n--- stdout\n" +
         clip(out) + "\n--- stderr\n" + clip(err);
}

child_process::child_process(const std::vector<std::string>& argv, const std::string& stdin_data)
    : stdin_data_(stdin_data) {
  pipe_pair in, out, err;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  // The child must not inherit a blocked SIGINT/SIGTERM or ignored SIGPIPE from the test.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = posix_spawn(&pid_, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    reaped_ = true;
    result_.err = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
    return;
  }
  in_fd_ = in.release(1);
  out_fd_ = out.release(0);
  err_fd_ = err.release(0);
  // Writes to a child that already exited must fail with EPIPE, not kill the test.
  fcntl(in_fd_, F_SETFL, O_NONBLOCK);
  if (stdin_data_.empty()) close_fd(in_fd_);
}

child_process::~child_process() {
  if (!reaped_) kill_and_reap(false);
  close_fd(in_fd_);
  close_fd(out_fd_);
  close_fd(err_fd_);
}

bool child_process::pump(std::chrono::milliseconds wait) {
  if (!running()) {
    close_fd(in_fd_);
    return false;
  }
  std::array<pollfd, 3> fds{{{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}, {in_fd_, POLLOUT, 0}}};
  if (::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) < 0) return running();
  std::array<char, 65536> buf;
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
    if (n > 0)
      (i == 0 ? result_.out : result_.err).append(buf.data(), static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR)
      close_fd(i == 0 ? out_fd_ : err_fd_);
  }
  if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
    const ssize_t n = ::write(in_fd_, stdin_data_.data() + written_, stdin_data_.size() - written_);
    if (n > 0) written_ += static_cast<std::size_t>(n);
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || written_ == stdin_data_.size()) close_fd(in_fd_);
  }
  return running();
}

void child_process::signal(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

void child_process::kill_and_reap(bool timed_out) {
  if (reaped_) return;
  result_.timed_out = result_.timed_out || timed_out;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const process_result& child_process::finish(std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  while (!reaped_ && running()) {
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) break;
    pump(std::min(left, milliseconds(200)));
  }
  close_fd(in_fd_);
  // Both streams are closed; the child is normally exiting now. Still bounded by the deadline.
  while (!reaped_) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else if (r < 0 && errno != EINTR) {
      reaped_ = true;
    } else if (steady_clock::now() >= deadline) {
      kill_and_reap(true);
    } else {
      usleep(10'000);
    }
  }
  return result_;
}

bool pump_until(std::initializer_list<child_process*> children, const std::function<bool()>& done,
                std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  while (!done()) {
    if (steady_clock::now() >= deadline) return false;
    bool any = false;
    for (auto* c : children)
      if (c->running()) any = true, c->pump(milliseconds(10));
    if (!any) return done();  // all exited: nothing more will come
  }
  return true;
}

std::vector<std::string> tied_to_test(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/usr/bin/setpriv", "--pdeathsig", "KILL", "--"});
  return argv;
}

process_result run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  child_process child(argv, stdin_data);
  return child.finish(deadline);
}

}  // namespace kgw::e2e

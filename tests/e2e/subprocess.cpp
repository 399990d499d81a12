#include "tests/e2e/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

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
};

std::string clip(const std::string& s, std::size_t n = 4000) {
  return s.size() <= n ? s : s.substr(0, n / 2) + "\n...[clipped]...\n" + s.substr(s.size() - n / 2);
}

}  // namespace

std::string process_result::describe() const {
  return "exit " + std::to_string(exit_code) + (timed_out ? " (killed at deadline)" : "") + "\n--- stdout\n" +
         clip(out) + "\n--- stderr\n" + clip(err);
}

process_result run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
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
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  process_result result;
  if (rc != 0) {
    result.err = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  // Writes to a child that already exited must fail with EPIPE, not kill the test.
  fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  if (stdin_data.empty()) in.close_end(1);

  std::size_t written = 0;
  std::array<char, 65536> buf;
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    std::array<pollfd, 3> fds{{{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}, {in.fd[1], POLLOUT, 0}}};
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left.count(), 200))) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
      if (n > 0)
        (i == 0 ? result.out : result.err).append(buf.data(), static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR)
        (i == 0 ? out : err).close_end(0);
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in.fd[1], stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) in.close_end(1);
    }
  }
  in.close_end(1);
  // Both streams are closed; the child is normally exiting now. Still bounded by the deadline.
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline && !result.timed_out) {
      result.timed_out = true;
      kill(pid, SIGKILL);
    }
    usleep(10'000);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace kgw::e2e

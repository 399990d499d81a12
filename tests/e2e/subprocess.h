#pragma once
// Runs a command-line client (kcat, python) as a child process with a hard deadline, feeding it
// stdin and capturing stdout/stderr, so a hung client fails its test instead of hanging ctest.
// run_process() runs one to completion; child_process lets a test read a client's output while it
// runs and act on it (wait for a group assignment, then stop that member with SIGTERM).
// Threading: run_process() is self-contained; call it from any thread. A child_process is used by
// one thread; several can be pumped in turn from the same thread.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace kgw::e2e {

struct process_result {
  int exit_code = -1;  // exit status, or 128 + signal when killed by a signal
  bool timed_out = false;
  std::string out, err;
  std::string describe() const;  // for failure messages: code, timeout, both streams (clipped)
};

class child_process {
 public:
  // argv[0] is the program path (no PATH search). If the spawn fails, running() is false and
  // finish() reports exit code -1 with the reason in `err`.
  child_process(const std::vector<std::string>& argv, const std::string& stdin_data);
  ~child_process();  // SIGKILL and reap if it still runs
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Moves stdin data and output, waiting up to `wait` for any of it. False once both output
  // streams are closed (the child is exiting or gone).
  bool pump(std::chrono::milliseconds wait);
  bool running() const { return out_fd_ >= 0 || err_fd_ >= 0; }
  pid_t pid() const { return pid_; }  // -1 when the spawn failed
  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }
  void signal(int sig);  // no-op once reaped
  // Pumps until the child exits; SIGKILL at `deadline` (timed_out set). Idempotent.
  const process_result& finish(std::chrono::steady_clock::time_point deadline);

 private:
  void kill_and_reap(bool timed_out);
  pid_t pid_ = -1;
  bool reaped_ = false;
  int in_fd_ = -1, out_fd_ = -1, err_fd_ = -1;
  std::string stdin_data_;
  std::size_t written_ = 0;
  process_result result_;
};

// Pumps each child in turn (so none blocks on a full pipe) until done() is true or the deadline
// passes. Returns done().
bool pump_until(std::initializer_list<child_process*> children, const std::function<bool()>& done,
                std::chrono::steady_clock::time_point deadline);

// argv prefixed so the child dies with this test process (setpriv sets the parent-death signal,
// which exec keeps), even when the test aborts and no destructor runs. The signal follows the
// thread that spawned the child: spawn from the test's main thread. The program keeps the
// child's pid: setpriv execs it.
std::vector<std::string> tied_to_test(std::vector<std::string> argv);

// argv[0] is the program path (no PATH search). The child is killed (SIGKILL) at the deadline.
process_result run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                           std::chrono::milliseconds timeout);

}  // namespace kgw::e2e

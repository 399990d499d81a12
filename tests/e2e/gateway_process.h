#pragma once
// A gateway as its own process (`kafka-gateway --config FILE`), the way it runs in production, for
// tests that kill it, restart it on the same ports, or measure it from outside (/proc). Each start
// logs to its own file (<log_prefix>.<n>.log: a pipe nobody reads would stop it); the process dies
// with the test (tied_to_test) and is SIGKILLed when this object goes.
// Threading: use from the test's main thread (the parent-death signal follows the spawning thread).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "tests/e2e/subprocess.h"

namespace kgw::e2e {

class gateway_process {
 public:
  // admin: "host:port" of the config's admin listener, asked for /readyz.
  gateway_process(std::filesystem::path config, std::filesystem::path log_prefix, std::string admin);
  ~gateway_process();
  gateway_process(const gateway_process&) = delete;
  gateway_process& operator=(const gateway_process&) = delete;

  void start();  // a new process with the same config (so the same ports)
  // Ready as a balancer sees it: /readyz answers 200 (configuration live, upstream reachable).
  bool ready(std::chrono::steady_clock::time_point deadline) const;
  // Sends `sig` and waits for the exit: its exit code (128 + signal when killed by one).
  int stop(int sig, std::chrono::seconds within);
  void signal(int sig);
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  bool started() const { return process_ != nullptr; }
  std::filesystem::path log() const;  // the current start's log
  int starts() const { return starts_; }

 private:
  std::filesystem::path config_, log_prefix_;
  std::string admin_;
  int starts_ = 0;
  std::unique_ptr<child_process> process_;
};

}  // namespace kgw::e2e

#include "tests/e2e/gateway_process.h"

#include <signal.h>

#include <thread>
#include <vector>

namespace kgw::e2e {

using namespace std::chrono_literals;

gateway_process::gateway_process(std::filesystem::path config, std::filesystem::path log_prefix, std::string admin)
    : config_(std::move(config)), log_prefix_(std::move(log_prefix)), admin_(std::move(admin)) {}

gateway_process::~gateway_process() {
  if (process_) process_->signal(SIGKILL);
}

std::filesystem::path gateway_process::log() const {
  return log_prefix_.string() + "." + std::to_string(starts_) + ".log";
}

void gateway_process::start() {
  ++starts_;
  // The shell execs the gateway, so the child's pid is the gateway's.
  process_ = std::make_unique<child_process>(
      tied_to_test({"/bin/sh", "-c",
                    "exec " KGW_GATEWAY_PROGRAM " --config " + config_.string() + " 2>" + log().string()}),
      "");
}

bool gateway_process::ready(std::chrono::steady_clock::time_point deadline) const {
  while (std::chrono::steady_clock::now() < deadline) {
    const auto r = run_process({KGW_GATEWAY_PROGRAM, "health", "--url", "http://" + admin_ + "/readyz"}, "", 5s);
    if (r.exit_code == 0) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void gateway_process::signal(int sig) {
  if (process_) process_->signal(sig);
}

int gateway_process::stop(int sig, std::chrono::seconds within) {
  if (!process_) return -1;
  process_->signal(sig);
  const int code = process_->finish(std::chrono::steady_clock::now() + within).exit_code;
  process_.reset();
  return code;
}

}  // namespace kgw::e2e

#include "tests/e2e/dev_cluster_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <stdexcept>

namespace kgw::e2e {

dev_cluster_process::dev_cluster_process(int brokers, const std::vector<gateway::embedded_topic>& topics,
                                         const std::filesystem::path& log,
                                         const std::vector<std::uint16_t>& fixed_ports) {
  std::string command;
  std::string expected;  // the bootstrap list fixed ports must give
  if (!fixed_ports.empty()) {
    std::string list;
    for (auto p : fixed_ports) {
      list += (list.empty() ? "" : ",") + std::to_string(p);
      expected += (expected.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(p);
    }
    command = "KGW_FIXED_PORTS=" + list + " LD_PRELOAD=" KGW_E2E_FIXED_PORTS_PRELOAD " ";
  }
  command = "exec env " + command + KGW_GATEWAY_PROGRAM " dev-cluster --brokers " + std::to_string(brokers);
  for (const auto& t : topics) command += " --topic " + t.name + ":" + std::to_string(t.partitions);
  command += " 2>>" + log.string();
  process_ = std::make_unique<child_process>(tied_to_test({"/bin/sh", "-c", command}), "");
  const bool printed = pump_until(
      {process_.get()}, [&] { return process_->out().find('\n') != std::string::npos; },
      std::chrono::steady_clock::now() + std::chrono::seconds(20));
  if (!printed) throw std::runtime_error("dev-cluster printed no bootstrap list (log: " + log.string() + ")");
  bootstrap_ = process_->out().substr(0, process_->out().find('\n'));
  if (!expected.empty() && bootstrap_ != expected)
    throw std::runtime_error("dev-cluster listens on " + bootstrap_ + ", not on the fixed ports " + expected);
}

dev_cluster_process::~dev_cluster_process() { process_->signal(SIGKILL); }

int dev_cluster_process::kill() {
  process_->signal(SIGKILL);
  return process_->finish(std::chrono::steady_clock::now() + std::chrono::seconds(10)).exit_code;
}

bool dev_cluster_process::alive() {
  process_->pump(std::chrono::milliseconds(0));
  // Reaped children do not answer signal 0 and neither do zombies' waitpid: ask without reaping.
  siginfo_t info{};
  info.si_pid = 0;
  return ::waitid(P_PID, static_cast<id_t>(process_->pid()), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == 0;
}

}  // namespace kgw::e2e

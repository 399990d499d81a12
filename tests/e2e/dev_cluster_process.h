#pragma once
// The embedded broker as its own process (`kafka-gateway dev-cluster`), for tests that pause it
// (SIGSTOP), kill it or replace it while a gateway and clients run. Its bootstrap list is the first
// line it prints; its log goes to a file. librdkafka 2.0.2's mock takes kernel-chosen ports; with
// fixed_ports a test shim (fixed_ports_preload.cpp, LD_PRELOAD) gives broker n the n-th of them,
// so a replacement process can take its predecessor's ports. The process dies with the test
// (tied_to_test) and is SIGKILLed when this object goes.
// Threading: use from the test's main thread (the parent-death signal follows the spawning thread).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gateway/dev/embedded_cluster.h"
#include "tests/e2e/subprocess.h"

namespace kgw::e2e {

class dev_cluster_process {
 public:
  // Starts it and waits (up to 20 s) for its bootstrap list; throws if it does not come, or if
  // fixed ports were asked for and it listens elsewhere.
  dev_cluster_process(int brokers, const std::vector<gateway::embedded_topic>& topics, const std::filesystem::path& log,
                      const std::vector<std::uint16_t>& fixed_ports = {});
  ~dev_cluster_process();
  dev_cluster_process(const dev_cluster_process&) = delete;
  dev_cluster_process& operator=(const dev_cluster_process&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }  // "127.0.0.1:p1,127.0.0.1:p2,..."
  pid_t pid() const { return process_->pid(); }
  void signal(int sig) { process_->signal(sig); }
  // SIGKILL and wait for the exit: its exit code (128 + 9).
  int kill();
  // True while the process runs (false once it died, say of the mock's assertion).
  bool alive();

 private:
  std::unique_ptr<child_process> process_;
  std::string bootstrap_;
};

}  // namespace kgw::e2e

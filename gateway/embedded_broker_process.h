#pragma once
// `upstream.embedded` as a child process: the gateway runs `<program> dev-cluster` (its own
// binary by default) and relays to it like to any broker. The mock broker aborts the whole
// process on some malformed requests (a Metadata v1 topic count of 0x7fffffff trips an
// rd_realloc assertion); out of process, such a fault ends the broker, not the gateway: the
// gateway logs it, closes the affected connections (as when a real broker dies) and starts a
// new embedded broker (empty: the mock keeps nothing on disk), whose new bootstrap list it is
// handed through on_restart.
//
// The child ends with the gateway: it watches a pipe on its stdin whose write end only the
// gateway holds, so even a gateway killed with SIGKILL leaves no broker behind.
// Threading: start() and stop() on one thread; on_restart runs on the watcher thread.
#include <functional>
#include <memory>
#include <string>

#include "config/gateway_config.h"

namespace kgw::gateway {

class embedded_broker_process {
 public:
  // program: the kafka-gateway binary to run as `program dev-cluster ...` with spec's brokers
  // and topics.
  embedded_broker_process(std::string program, config::embedded_upstream spec);
  ~embedded_broker_process();  // stop()
  embedded_broker_process(const embedded_broker_process&) = delete;
  embedded_broker_process& operator=(const embedded_broker_process&) = delete;

  // Starts the child and waits (at most 30 s) for its bootstrap list, "127.0.0.1:p1,...".
  // Throws std::runtime_error with the reason (the child's stderr goes to the gateway's).
  std::string start(std::function<void(const std::string& bootstrap)> on_restart);
  // Stops the child (SIGTERM, SIGKILL after 5 s) and the watcher. Idempotent.
  void stop();
  int pid() const;  // the current child's, for tests; 0 when none

  // The running executable (/proc/self/exe), the default program.
  static std::string self_program();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace kgw::gateway

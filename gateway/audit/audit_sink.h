#pragma once
// Where audit events go (gateway/audit/audit_log.h): a JSON-lines file, a Kafka topic.
// Threading: used by the audit log's writer thread only, but healthy() and last_error() may be
// read from any thread (metrics, readiness).
#include <cstddef>
#include <span>
#include <vector>
#include <string>

namespace kgw::gateway::audit {

class audit_sink {
 public:
  virtual ~audit_sink() = default;
  virtual const char* name() const = 0;  // "file", "kafka": the metrics label
  // Writes events in order (each one JSON object, no newline). Returns how many of them it
  // took; fewer than all: it failed (last_error says why) and the rest are to be retried or
  // dropped by the caller.
  virtual std::size_t write(std::span<const std::string> events) = 0;
  // Events it took but could not deliver after all (a Kafka delivery that failed): given back
  // to the caller to retry or drop. Called on every pass of the writer.
  virtual void take_failed(std::vector<std::string>& out) { (void)out; }
  // Periodic work (delivery reports, probing a sink that is down).
  virtual void poll() {}
  // Can take events now (the file is writable, the cluster reachable).
  virtual bool healthy() const = 0;
  virtual std::string last_error() const = 0;
  // SIGUSR1 (logrotate moved the file): reopen it at its path.
  virtual void reopen() {}
  // Stopping: deliver what is in flight, for at most `ms`.
  virtual void flush(int ms) { (void)ms; }
};

}  // namespace kgw::gateway::audit

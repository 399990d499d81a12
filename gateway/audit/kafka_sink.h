#pragma once
// The audit trail's topic on the upstream cluster (or the cluster audit.kafka.bootstrap names),
// written by an idempotent librdkafka producer (acks=all): each event once, in order per
// partition, keyed by principal. It reaches the cluster with the gateway's upstream security
// settings. The topic is auto-created by the cluster when allowed; create it yourself (with the
// retention your audit needs) where it is not.
//
// Down: no broker reachable (librdkafka's ALL_BROKERS_DOWN), a delivery failed, or too much is
// waiting for acknowledgement; up again once a delivery succeeds or, with nothing in flight, the
// cluster answers a metadata request. Events whose delivery failed are given back to the audit
// log (take_failed), which retries them (fail: closed) or drops and counts them (fail: open).
// Threading: the writer thread; healthy() and last_error() from any thread.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/audit/audit_sink.h"

namespace kgw::gateway::audit {

class kafka_sink final : public audit_sink {
 public:
  // bootstrap: "host:port,..."; client: librdkafka security settings (upstream_client_settings).
  kafka_sink(std::string topic, std::string bootstrap, std::map<std::string, std::string> client);
  ~kafka_sink() override;
  // The producer could be made (its settings are valid); why not.
  std::string start();

  const char* name() const override { return "kafka"; }
  std::size_t write(std::span<const std::string> events) override;
  void take_failed(std::vector<std::string>& out) override;
  void poll() override;
  bool healthy() const override;
  std::string last_error() const override;
  void flush(int ms) override;

  struct state;  // shared with librdkafka's callbacks

 private:
  std::string topic_, bootstrap_;
  std::map<std::string, std::string> client_;
  std::unique_ptr<state> st_;
};

}  // namespace kgw::gateway::audit

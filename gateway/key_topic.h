#pragma once
// The key store on the upstream cluster (policies/encryption/key_store.h): a compacted topic of
// wrapped data keys, written and read with librdkafka as an ordinary client of the cluster, with
// the gateway's upstream security settings (TLS, SASL).
//
// Writes use an idempotent producer with acks=all and return once every record is acknowledged;
// reads assign every partition from the beginning and consume up to the end offsets queried at
// the start of each read (the instance's own writes included). The topic is created when missing
// (if allowed): one partition, cleanup.policy=compact, so tombstones (crypto-shredding) erase
// keys for good after compaction. A cluster that cannot create topics (the embedded broker) gets
// it auto-created through Metadata instead, and the log says it is not compacted.
// Every call is bounded by `timeout`.
// Threading: used by the key manager's thread only (and the CLI's keys commands).
#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <string>

#include "config/gateway_config.h"
#include "policies/encryption/key_store.h"

namespace kgw::gateway {

struct key_topic_settings {
  std::string bootstrap;                      // host:port,host:port
  std::map<std::string, std::string> client;  // librdkafka settings: security.protocol, ssl.*, sasl.*
  std::string topic = "_kgw_keys";
  bool create = true;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

// The client settings for reaching the upstream cluster as the gateway does (upstream.tls,
// upstream.sasl); secrets go into librdkafka only.
std::map<std::string, std::string> upstream_client_settings(const config::gateway_config& cfg);

class key_topic final : public policies::encryption::key_store {
 public:
  // Connects, makes sure the topic exists (creating it if allowed) and assigns its partitions.
  static std::expected<std::unique_ptr<key_topic>, std::string> open(const key_topic_settings& s);
  ~key_topic() override;

  std::string describe() const override { return "key topic '" + settings_.topic + "'"; }
  std::expected<void, std::string> write(std::span<const policies::encryption::store_record> records) override;
  std::expected<void, std::string> read_new(
      const std::function<void(std::string_view id, std::optional<std::string_view> value)>& seen) override;

  struct clients;

 private:
  explicit key_topic(key_topic_settings s);

  key_topic_settings settings_;
  std::unique_ptr<clients> c_;
};

}  // namespace kgw::gateway

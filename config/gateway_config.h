#pragma once
// The gateway's configuration model: plain values, loaded and validated by config/loader.h.
// Threading: immutable after loading; shared read-only by all worker threads.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kgw::config {

struct host_port {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

struct topic_spec {
  std::string name;
  int partitions = 1;
};

// An in-process broker (librdkafka's mock cluster) for demos and tests.
struct embedded_upstream {
  int brokers = 3;
  std::vector<topic_spec> topics;
};

struct gateway_config {
  std::string source;  // file the config came from, for messages

  host_port listen{"127.0.0.1", 19092};  // bootstrap address clients use
  std::string advertised_host = "127.0.0.1";
  std::uint16_t broker_port_first = 19093;  // one port per upstream broker id
  std::uint16_t broker_port_last = 19120;
  int workers = 0;  // 0 = one per core

  std::size_t max_frame_bytes = 100u * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};  // Kafka's connections.max.idle.ms
  std::chrono::milliseconds upstream_connect_timeout{std::chrono::seconds(10)};

  std::vector<host_port> upstream_bootstrap;
  std::optional<embedded_upstream> embedded;

  std::string log_level = "info";
};

}  // namespace kgw::config

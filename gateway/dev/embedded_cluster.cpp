#include "gateway/dev/embedded_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string_view>

namespace kgw::gateway {
namespace {

constexpr int max_brokers = 64;
constexpr int max_partitions = 10000;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("embedded cluster: " + what); }

// "127.0.0.1:1234,127.0.0.1:5678" -> {1234, 5678}
std::vector<std::uint16_t> parse_ports(std::string_view list) {
  std::vector<std::uint16_t> ports;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    auto colon = item.rfind(':');
    unsigned port = 0;
    if (colon == std::string_view::npos ||
        std::from_chars(item.data() + colon + 1, item.data() + item.size(), port).ec != std::errc{} ||
        port == 0 || port > 65535)
      fail("cannot parse the mock's bootstrap list entry '" + std::string(item) + "'");
    ports.push_back(static_cast<std::uint16_t>(port));
  }
  return ports;
}

}  // namespace

embedded_cluster::embedded_cluster(int brokers, const std::vector<embedded_topic>& topics) {
  if (brokers < 1 || brokers > max_brokers)
    fail("broker count must be 1.." + std::to_string(max_brokers) + ", got " + std::to_string(brokers));
  for (const auto& t : topics) {
    if (t.name.empty() || t.name.size() > 249) fail("topic name must be 1..249 characters");
    if (t.partitions < 1 || t.partitions > max_partitions)
      fail("topic '" + t.name + "' needs 1.." + std::to_string(max_partitions) + " partitions, got " +
           std::to_string(t.partitions));
  }

  // The mock needs an rd_kafka_t for bookkeeping (its thread and timers hang off it). This one
  // never connects anywhere: no bootstrap.servers; only errors are logged.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "client.id", "kgw-embedded-cluster", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    fail(std::string("configuring the owner handle: ") + errstr);
  }
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);  // takes conf on success
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    fail(std::string("creating the owner handle: ") + errstr);
  }

  mock_ = rd_kafka_mock_cluster_new(rk_, brokers);
  if (!mock_) {
    rd_kafka_destroy(rk_);
    fail("rd_kafka_mock_cluster_new failed (could not bind a listener on 127.0.0.1?)");
  }

  try {
    const int replication = std::min(brokers, 3);
    for (const auto& t : topics) {
      rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mock_, t.name.c_str(), t.partitions, replication);
      if (err) fail("creating topic '" + t.name + "': " + rd_kafka_err2str(err));
    }
    const char* bs = rd_kafka_mock_cluster_bootstraps(mock_);
    if (!bs || !*bs) fail("the mock reported no bootstrap servers");
    bootstrap_ = bs;
    ports_ = parse_ports(bootstrap_);
    if (static_cast<int>(ports_.size()) != brokers)
      fail("the mock reported " + std::to_string(ports_.size()) + " brokers, expected " + std::to_string(brokers));
  } catch (...) {
    rd_kafka_mock_cluster_destroy(mock_);
    rd_kafka_destroy(rk_);
    throw;
  }
}

embedded_cluster::~embedded_cluster() {
  rd_kafka_mock_cluster_destroy(mock_);  // joins the mock thread, closes the listeners
  rd_kafka_destroy(rk_);
}

void embedded_cluster::set_broker_up(int id, bool up) {
  const auto err = up ? rd_kafka_mock_broker_set_up(mock_, id) : rd_kafka_mock_broker_set_down(mock_, id);
  if (err) throw std::runtime_error(std::string("cannot change broker state: ") + rd_kafka_err2str(err));
}

void embedded_cluster::set_broker_rtt(int id, int rtt_ms) {
  const auto err = rd_kafka_mock_broker_set_rtt(mock_, id, rtt_ms);
  if (err) throw std::runtime_error(std::string("cannot set broker rtt: ") + rd_kafka_err2str(err));
}

}  // namespace kgw::gateway

#include "gateway/audit/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <string_view>

#include "gateway/logging.h"

namespace kgw::gateway::audit {

namespace {
// In flight beyond this: the cluster is not keeping up; the sink reports itself down.
constexpr int max_in_flight = 50000;
}  // namespace

struct kafka_sink::state {
  rd_kafka_t* producer = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  std::atomic<bool> down{false};
  std::chrono::steady_clock::time_point next_probe{};
  mutable std::mutex mu;  // failed, error
  std::vector<std::string> failed;
  std::string error;

  void set_down(std::string why) {
    if (!down.exchange(true)) log::audit().error("audit topic: {}", why);
    std::lock_guard lk(mu);
    error = std::move(why);
  }
  void set_up() {
    if (down.exchange(false)) log::audit().info("audit topic: delivering again");
  }
};

namespace {

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<kafka_sink::state*>(opaque);
  if (!m->err) {
    st->set_up();
    return;
  }
  st->set_down(std::string("delivery failed: ") + rd_kafka_err2str(m->err));
  std::lock_guard lk(st->mu);
  st->failed.emplace_back(static_cast<const char*>(m->payload), m->len);
}

void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* st = static_cast<kafka_sink::state*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__FATAL)
    st->set_down(std::string(rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err))) + ": " + reason);
}

void on_log(const rd_kafka_t*, int level, const char* facility, const char* text) {
  if (level <= 3) log::audit().warn("audit topic client: {}: {}", facility, text);
  else log::audit().debug("audit topic client: {}: {}", facility, text);
}

}  // namespace

kafka_sink::kafka_sink(std::string topic, std::string bootstrap, std::map<std::string, std::string> client)
    : topic_(std::move(topic)), bootstrap_(std::move(bootstrap)), client_(std::move(client)),
      st_(std::make_unique<state>()) {}

kafka_sink::~kafka_sink() {
  if (st_->topic) rd_kafka_topic_destroy(st_->topic);
  if (st_->producer) rd_kafka_destroy(st_->producer);
}

std::string kafka_sink::start() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto settings = client_;
  settings["bootstrap.servers"] = bootstrap_;
  settings["client.id"] = "kafka-gateway-audit";
  settings["enable.idempotence"] = "true";  // each event once, in order, through retries
  settings["acks"] = "all";
  settings["linger.ms"] = "20";
  settings["compression.type"] = "lz4";
  // Retried inside librdkafka across short outages; after this the event comes back to the log.
  settings["message.timeout.ms"] = "30000";
  settings["log.connection.close"] = "false";
  for (const auto& [k, v] : settings)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return "client setting " + k + ": " + err;
    }
  rd_kafka_conf_set_opaque(conf, st_.get());
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_log_cb(conf, on_log);
  st_->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!st_->producer) {
    rd_kafka_conf_destroy(conf);
    return std::string("cannot make a producer: ") + err;
  }
  st_->topic = rd_kafka_topic_new(st_->producer, topic_.c_str(), nullptr);
  return {};
}

std::size_t kafka_sink::write(std::span<const std::string> events) {
  std::size_t taken = 0;
  for (const auto& e : events) {
    // Keyed by the event's subject (the principal) so one principal's events stay in order.
    std::string_view key;
    if (auto at = e.find("\"subject\":\""); at != std::string::npos) {
      const auto from = at + 11;
      key = std::string_view(e).substr(from, e.find('"', from) - from);
    }
    rd_kafka_resp_err_t r = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 2; ++attempt) {
      r = rd_kafka_produce(st_->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(e.data()),
                           e.size(), key.empty() ? nullptr : key.data(), key.size(), nullptr)
              ? rd_kafka_last_error()
              : RD_KAFKA_RESP_ERR_NO_ERROR;
      if (r != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(st_->producer, 100);
    }
    if (r) {
      st_->set_down(std::string("cannot queue an event: ") + rd_kafka_err2str(r));
      return taken;
    }
    ++taken;
  }
  rd_kafka_poll(st_->producer, 0);
  return taken;
}

void kafka_sink::take_failed(std::vector<std::string>& out) {
  std::lock_guard lk(st_->mu);
  for (auto& f : st_->failed) out.push_back(std::move(f));
  st_->failed.clear();
}

void kafka_sink::poll() {
  rd_kafka_poll(st_->producer, 0);
  if (!st_->down.load(std::memory_order_relaxed) || rd_kafka_outq_len(st_->producer) > 0) return;
  // Down with nothing in flight to prove otherwise: ask the cluster now and then.
  const auto now = std::chrono::steady_clock::now();
  if (now < st_->next_probe) return;
  st_->next_probe = now + std::chrono::seconds(1);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(st_->producer, 0, st_->topic, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(md);
    st_->set_up();
  }
}

bool kafka_sink::healthy() const {
  return !st_->down.load(std::memory_order_relaxed) && rd_kafka_outq_len(st_->producer) < max_in_flight;
}

std::string kafka_sink::last_error() const {
  std::lock_guard lk(st_->mu);
  return st_->error;
}

void kafka_sink::flush(int ms) { rd_kafka_flush(st_->producer, ms); }

}  // namespace kgw::gateway::audit

#include "tests/e2e/steady_clients.h"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

namespace kgw::e2e {

using namespace std::chrono_literals;

steady_producer::steady_producer(const std::string& bootstrap, const std::string& topic, const std::string& prefix,
                                 bool idempotent, const settings& extra, std::chrono::microseconds period)
    : topic_(topic), prefix_(prefix), period_(period) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  settings all{{"bootstrap.servers", bootstrap},
               {"acks", "all"},
               {"enable.idempotence", idempotent ? "true" : "false"},
               {"linger.ms", "5"},
               {"message.timeout.ms", "90000"},
               {"reconnect.backoff.ms", "50"},
               {"reconnect.backoff.max.ms", "500"},
               {"log.connection.close", "false"}};
  all.insert(all.end(), extra.begin(), extra.end());  // later settings win
  for (const auto& [k, v] : all)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(k + ": " + err);
    }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(err);
  }
  thread_ = std::thread([this] { run(); });
}

steady_producer::~steady_producer() {
  stop(clock::now());
  rd_kafka_destroy(rk_);
}

void steady_producer::stop(clock::time_point flush_deadline) {
  if (!thread_.joinable()) return;
  flush_deadline_ = flush_deadline;
  stop_ = true;
  thread_.join();
}

std::set<std::string> steady_producer::acked() const {
  std::lock_guard lk(mu_);
  return acked_;
}

std::vector<std::string> steady_producer::failures() const {
  std::lock_guard lk(mu_);
  return failures_;
}

std::size_t steady_producer::unreported() const { return static_cast<std::size_t>(rd_kafka_outq_len(rk_)); }

void steady_producer::run() {
  auto next = clock::now();
  while (!stop_) {
    const std::string v = prefix_ + "-" + std::to_string(sent_);
    if (rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_KEY(v.data(), v.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR)
      ++sent_;
    next += period_;
    rd_kafka_poll(rk_, 0);
    std::this_thread::sleep_until(next);
  }
  while (rd_kafka_outq_len(rk_) > 0 && clock::now() < flush_deadline_) rd_kafka_poll(rk_, 50);
}

void steady_producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<steady_producer*>(opaque);
  std::lock_guard lk(self->mu_);
  const std::string v(static_cast<const char*>(m->payload), m->len);
  if (m->err) {
    ++self->failed_count_;
    if (self->failures_.size() < 20) self->failures_.push_back(v + ": " + rd_kafka_err2str(m->err));
    return;
  }
  self->acked_.insert(v);
  ++self->acked_count_;
}

group_reader::group_reader(const std::string& bootstrap, const std::string& group, const std::string& topic,
                           int partitions, const settings& extra)
    : group_(group), bootstrap_(bootstrap), topic_(topic), partitions_(partitions), extra_(extra) {
  thread_ = std::thread([this] { run(); });
}

group_reader::~group_reader() { finish(clock::now()); }

void group_reader::finish(clock::time_point deadline) {
  if (!thread_.joinable()) return;
  deadline_ = deadline;
  stop_ = true;
  thread_.join();
}

std::set<std::string> group_reader::values() const {
  std::lock_guard lk(mu_);
  return values_;
}

void group_reader::run() {
  settings all{{"reconnect.backoff.ms", "50"}, {"reconnect.backoff.max.ms", "500"}, {"fetch.wait.max.ms", "100"}};
  all.insert(all.end(), extra_.begin(), extra_.end());
  consumer c(bootstrap_, group_, all);
  c.subscribe({topic_});
  auto last_record = clock::now();
  std::size_t since_commit = 0;
  while (true) {
    auto r = c.poll(100ms);
    client_errors_ = c.client_errors().size();
    if (r) {
      std::lock_guard lk(mu_);
      values_.insert(r->value);
      ++count_;
      ++since_commit;
      last_record = clock::now();
    } else if (since_commit > 0) {
      c.commit_positions();  // may fail during a rebalance or while a connection is lost: later ones carry it
      since_commit = 0;
    }
    if (stop_ && (clock::now() - last_record > 3s || clock::now() > deadline_)) break;
  }
  if (const auto e = c.commit_positions(); !e.empty()) error = "final commit: " + e;
  committed = c.committed(topic_, partitions_, 10s);
  c.close();
}

bool progress(const std::function<bool()>& grew, std::chrono::seconds within) {
  const auto deadline = clock::now() + within;
  while (!grew()) {
    if (clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

}  // namespace kgw::e2e

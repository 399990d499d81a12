#include "tests/e2e/rdkafka_client.h"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

namespace kgw::e2e {
namespace {

// OAUTHBEARER with a token made by the test: librdkafka hands sasl.oauthbearer.config to this
// callback, which installs "token=<compact JWS>" from it as the client's token.
void set_test_token(rd_kafka_t* rk, const char* config, void*) {
  const std::string c = config ? config : "";
  const std::string token = c.starts_with("token=") ? c.substr(6) : c;
  char err[512];
  const auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(
                            (std::chrono::system_clock::now() + std::chrono::hours(1)).time_since_epoch())
                            .count();
  if (rd_kafka_oauthbearer_set_token(rk, token.c_str(), lifetime, "test-client", nullptr, 0, err, sizeof err))
    rd_kafka_oauthbearer_set_token_failure(rk, err);
}

rd_kafka_conf_t* make_conf(const settings& base, const settings& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  bool test_token = false;
  for (const auto* list : {&base, &extra})
    for (const auto& [k, v] : *list) {
      if (k == "sasl.oauthbearer.config" && v.starts_with("token=")) test_token = true;
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error("librdkafka config " + k + "=" + v + ": " + err);
      }
    }
  if (test_token) rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, &set_test_token);
  return conf;
}

// Client-level errors (authentication failures, all brokers down) as the application sees them.
template <class Client>
void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Client*>(opaque);
  if (self->client_errors_.size() < 100)
    self->client_errors_.push_back(std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " + reason);
}

rd_kafka_t* make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  }
  return rk;
}

int ms_until(clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(std::min<long long>(ms, 1'000'000));
}

std::string as_string(const void* p, std::size_t n) { return p ? std::string(static_cast<const char*>(p), n) : std::string(); }

}  // namespace

std::string describe(const record& r) {
  return "p" + std::to_string(r.partition) + "@" + std::to_string(r.offset) + " " + r.key + "=" +
         (r.value.size() > 40 ? r.value.substr(0, 40) + "..." : r.value);
}

std::vector<key_value> keyed_payloads(const std::string& prefix, int n, std::size_t value_size) {
  std::vector<key_value> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::string value = prefix + "-value-" + std::to_string(i) + "-";
    while (value.size() < value_size) value.push_back(static_cast<char>('a' + (value.size() * 7 + i) % 26));
    out.emplace_back(prefix + "-key-" + std::to_string(i), std::move(value));
  }
  return out;
}

// --- producer

producer::producer(const std::string& bootstrap, const settings& extra) {
  rd_kafka_conf_t* conf = make_conf({{"bootstrap.servers", bootstrap},
                                     {"linger.ms", "5"},
                                     {"message.timeout.ms", "30000"},
                                     {"log.connection.close", "false"}},
                                    extra);
  rd_kafka_conf_set_dr_msg_cb(conf, &producer::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &on_error<producer>);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = make_handle(RD_KAFKA_PRODUCER, conf);
}

producer::~producer() {
  rd_kafka_flush(rk_, 2000);
  rd_kafka_destroy(rk_);
}

void producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<producer*>(opaque);
  auto index = reinterpret_cast<std::uintptr_t>(msg->_private);
  --self->outstanding_;
  if (msg->err) {
    self->errors_.push_back("delivery of " + self->pending_[index].key + " failed: " + rd_kafka_err2str(msg->err));
    return;
  }
  self->pending_[index].partition = msg->partition;
  self->pending_[index].offset = msg->offset;
  self->delivered_[index] = true;
}

std::vector<record> producer::produce(const std::string& topic, const std::vector<key_value>& records,
                                      clock::time_point deadline) {
  pending_.clear();
  delivered_.assign(records.size(), false);
  for (const auto& [k, v] : records) pending_.push_back(record{-1, -1, k, v});
  for (std::size_t i = 0; i < records.size(); ++i) {
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(records[i].first.data(), records[i].first.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(records[i].second.data()), records[i].second.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(i)), RD_KAFKA_V_END);
      if (!err) {
        ++outstanding_;
        break;
      }
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || clock::now() > deadline) {
        errors_.push_back("produce " + records[i].first + ": " + rd_kafka_err2str(err));
        break;
      }
      rd_kafka_poll(rk_, 10);
    }
    rd_kafka_poll(rk_, 0);
  }
  while (outstanding_ > 0 && clock::now() < deadline) rd_kafka_flush(rk_, std::min(ms_until(deadline), 200));
  rd_kafka_poll(rk_, 0);
  if (outstanding_ > 0) errors_.push_back(std::to_string(outstanding_) + " deliveries still outstanding at the deadline");
  std::vector<record> out;
  for (std::size_t i = 0; i < pending_.size(); ++i)
    if (delivered_[i]) out.push_back(pending_[i]);
  return out;
}

// --- consumer

consumer::consumer(const std::string& bootstrap, const std::string& group, const settings& extra) {
  settings base{{"bootstrap.servers", bootstrap},
                {"auto.offset.reset", "earliest"},
                {"enable.auto.commit", "false"},
                {"enable.partition.eof", "false"},
                {"session.timeout.ms", "6000"},
                {"heartbeat.interval.ms", "500"},
                {"fetch.wait.max.ms", "100"},
                {"log.connection.close", "false"}};
  // librdkafka 2.0.2 refuses assign() without a group.id ("Unknown group") even though an
  // assign-only consumer never joins the group or commits; give it a throwaway one.
  base.emplace_back("group.id", group.empty() ? "e2e-assign-only" : group);
  rd_kafka_conf_t* conf = make_conf(base, extra);
  rd_kafka_conf_set_error_cb(conf, &on_error<consumer>);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = make_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk_);
}

consumer::~consumer() {
  close();
  rd_kafka_destroy(rk_);
}

void consumer::subscribe(const std::vector<std::string>& topics) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const auto& t : topics) rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) throw std::runtime_error(std::string("subscribe: ") + rd_kafka_err2str(err));
}

void consumer::assign_all(const std::string& topic, int partitions) {
  std::map<std::int32_t, std::int64_t> from;
  for (int p = 0; p < partitions; ++p) from[p] = RD_KAFKA_OFFSET_BEGINNING;
  assign(topic, from);
}

void consumer::assign(const std::string& topic, const std::map<std::int32_t, std::int64_t>& offsets) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& [p, offset] : offsets) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = offset;
  rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(err));
}

std::optional<record> consumer::poll(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count()));
  if (!m) return std::nullopt;
  std::optional<record> out;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
    out = record{m->partition, m->offset, as_string(m->key, m->key_len), as_string(m->payload, m->len)};
  else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && errors_.size() < 100)
    errors_.push_back(std::string("consume: ") + rd_kafka_message_errstr(m));
  rd_kafka_message_destroy(m);
  return out;
}

std::set<std::int32_t> consumer::assignment() const {
  std::set<std::int32_t> out;
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_, &list) == RD_KAFKA_RESP_ERR_NO_ERROR && list) {
    for (int i = 0; i < list->cnt; ++i) out.insert(list->elems[i].partition);
  }
  if (list) rd_kafka_topic_partition_list_destroy(list);
  return out;
}

std::string consumer::commit(const std::string& topic, const std::map<std::int32_t, std::int64_t>& offsets) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& [p, o] : offsets) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = o;
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, 0);
  std::string problem = err ? std::string(rd_kafka_err2str(err)) : std::string();
  for (int i = 0; i < list->cnt && problem.empty(); ++i)
    if (list->elems[i].err)
      problem = "partition " + std::to_string(list->elems[i].partition) + ": " + rd_kafka_err2str(list->elems[i].err);
  rd_kafka_topic_partition_list_destroy(list);
  return problem;
}

std::string consumer::commit_positions() {
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, 0);
  return err && err != RD_KAFKA_RESP_ERR__NO_OFFSET ? rd_kafka_err2str(err) : "";
}

std::map<std::int32_t, std::int64_t> consumer::committed(const std::string& topic, int partitions,
                                                         std::chrono::milliseconds timeout) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  std::map<std::int32_t, std::int64_t> out;
  if (rd_kafka_committed(rk_, list, static_cast<int>(timeout.count())) == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (int i = 0; i < list->cnt; ++i) out[list->elems[i].partition] = list->elems[i].offset;
  rd_kafka_topic_partition_list_destroy(list);
  return out;
}

std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> consumer::watermarks(const std::string& topic,
                                                                                 int partitions,
                                                                                 std::chrono::milliseconds timeout) {
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> out;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = -1, high = -1;
    if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p, &low, &high, static_cast<int>(timeout.count())) ==
        RD_KAFKA_RESP_ERR_NO_ERROR)
      out[p] = {low, high};
  }
  return out;
}

void consumer::close() {
  if (closed_) return;
  closed_ = true;
  rd_kafka_consumer_close(rk_);
}

bool poll_until(std::span<consumer* const> consumers, const std::function<void(std::size_t, record&&)>& on_record,
                const std::function<bool()>& done, clock::time_point deadline) {
  while (!done()) {
    if (clock::now() >= deadline) return false;
    for (std::size_t i = 0; i < consumers.size(); ++i) {
      // Drain what is ready, then move on so the others keep polling (and heartbeating).
      for (int burst = 0; burst < 500; ++burst) {
        auto rec = consumers[i]->poll(std::chrono::milliseconds(burst == 0 ? 20 : 0));
        if (!rec) break;
        on_record(i, std::move(*rec));
      }
    }
  }
  return true;
}

}  // namespace kgw::e2e

// The key topic through librdkafka: see gateway/key_topic.h.
#include "gateway/key_topic.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <thread>

#include "gateway/logging.h"

namespace kgw::gateway {
namespace enc = policies::encryption;
using clock = std::chrono::steady_clock;

namespace {

void log_from_librdkafka(const rd_kafka_t*, int level, const char* facility, const char* text) {
  // Brokers before 0.11 (the embedded one) cannot be told not to auto-create: harmless here, the
  // key topic is created or checked explicitly.
  if (std::string_view(facility) == "AUTOCREATE") level = 7;
  if (level <= 3) log::keys().error("key topic client: {}: {}", facility, text);
  else if (level == 4) log::keys().warn("key topic client: {}: {}", facility, text);
  else log::keys().debug("key topic client: {}: {}", facility, text);
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->_private) *static_cast<rd_kafka_resp_err_t*>(m->_private) = m->err;
}

int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

}  // namespace

struct key_topic::clients {
  rd_kafka_t* producer = nullptr;
  rd_kafka_t* consumer = nullptr;
  std::vector<std::int64_t> position;  // per partition: the next offset to read
  ~clients() {
    if (consumer) {
      rd_kafka_consumer_close(consumer);
      rd_kafka_destroy(consumer);
    }
    if (producer) {
      rd_kafka_flush(producer, 2000);
      rd_kafka_destroy(producer);
    }
  }
};

std::map<std::string, std::string> upstream_client_settings(const config::gateway_config& cfg) {
  std::map<std::string, std::string> c;
  switch (cfg.upstream_protocol) {
    case config::security_protocol::plaintext: c["security.protocol"] = "plaintext"; break;
    case config::security_protocol::ssl: c["security.protocol"] = "ssl"; break;
    case config::security_protocol::sasl_plaintext: c["security.protocol"] = "sasl_plaintext"; break;
    case config::security_protocol::sasl_ssl: c["security.protocol"] = "sasl_ssl"; break;
  }
  if (cfg.upstream_tls) {
    const auto& t = *cfg.upstream_tls;
    if (!t.ca_pem.empty()) c["ssl.ca.pem"] = t.ca_pem;
    if (!t.certificate_pem.empty()) c["ssl.certificate.pem"] = t.certificate_pem;
    if (!t.key_pem.empty()) c["ssl.key.pem"] = t.key_pem;
    if (!t.key_password.empty()) c["ssl.key.password"] = t.key_password;
    c["ssl.endpoint.identification.algorithm"] = t.verify_hostname ? "https" : "none";
  }
  if (cfg.upstream_sasl) {
    c["sasl.mechanism"] = cfg.upstream_sasl->mechanism;
    c["sasl.username"] = cfg.upstream_sasl->username;
    c["sasl.password"] = cfg.upstream_sasl->password;
  }
  return c;
}

key_topic::key_topic(key_topic_settings s) : settings_(std::move(s)), c_(std::make_unique<clients>()) {}
key_topic::~key_topic() = default;

namespace {

std::expected<rd_kafka_t*, std::string> make_client(rd_kafka_type_t type, const key_topic_settings& s,
                                                    const std::map<std::string, std::string>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) -> bool {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK) return true;
    return false;
  };
  std::map<std::string, std::string> all = s.client;
  all["bootstrap.servers"] = s.bootstrap;
  all["client.id"] = "kafka-gateway-keys";
  all["log.connection.close"] = "false";
  for (const auto& [k, v] : extra) all[k] = v;
  for (const auto& [k, v] : all)
    if (!set(k, v)) {
      rd_kafka_conf_destroy(conf);
      return std::unexpected("client setting " + k + ": " + err);
    }
  rd_kafka_conf_set_log_cb(conf, log_from_librdkafka);
  if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return std::unexpected(std::string("cannot make a client: ") + err);
  }
  return rk;
}

// The topic's partition count, 0 when the cluster does not know it; or why the cluster did not
// answer.
std::expected<int, std::string> partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err) return std::unexpected(std::string("metadata: ") + rd_kafka_err2str(err));
  int n = 0;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (md->topics[i].topic == topic && !md->topics[i].err) n = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return n;
}

// CreateTopics: one partition, compacted. "" when made (or already there), else why not.
std::string create_topic(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), 1, -1, err, sizeof err);
  if (!nt) return err;
  rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  std::string why = "no answer to CreateTopics";
  if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 1000)) {
    if (rd_kafka_event_error(ev)) {
      why = rd_kafka_event_error_string(ev);
    } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
      size_t n = 0;
      const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(res, &n);
      why = n == 1 ? std::string() : "no result for the topic";
      if (n == 1 && rd_kafka_topic_result_error(topics[0]) &&
          rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* m = rd_kafka_topic_result_error_string(topics[0]);
        why = m ? m : rd_kafka_err2str(rd_kafka_topic_result_error(topics[0]));
      }
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  return why;
}

}  // namespace

std::expected<std::unique_ptr<key_topic>, std::string> key_topic::open(const key_topic_settings& s) {
  auto kt = std::unique_ptr<key_topic>(new key_topic(s));
  const int timeout = static_cast<int>(s.timeout.count());
  const std::string where = "key topic '" + s.topic + "' on " + s.bootstrap + ": ";
  auto producer = make_client(RD_KAFKA_PRODUCER, s,
                              {{"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "2"},
                               {"message.timeout.ms", std::to_string(timeout)}});
  if (!producer) return std::unexpected(where + producer.error());
  kt->c_->producer = *producer;
  auto consumer = make_client(RD_KAFKA_CONSUMER, s,
                              {{"group.id", "kafka-gateway-key-readers"},  // never joined: partitions are assigned
                               {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"},
                               {"enable.partition.eof", "true"}, {"auto.offset.reset", "earliest"},
                               // Keys and tombstones from other instances arrive within a follow pass.
                               {"fetch.wait.max.ms", "50"}, {"fetch.error.backoff.ms", "100"},
                               {"allow.auto.create.topics", "false"}});
  if (!consumer) return std::unexpected(where + consumer.error());
  kt->c_->consumer = *consumer;
  rd_kafka_poll_set_consumer(kt->c_->consumer);

  auto n = partition_count(kt->c_->consumer, s.topic, timeout);
  if (!n) return std::unexpected(where + n.error());
  if (*n == 0) {
    if (!s.create) return std::unexpected(where + "the topic does not exist (and key_topic.create is false)");
    const std::string why = create_topic(kt->c_->producer, s.topic, timeout);
    if (!why.empty()) {
      // The embedded broker has no CreateTopics: Metadata auto-creates (not compacted).
      log::keys().warn("{}cannot create it with CreateTopics ({}); asking the cluster to auto-create it, which will "
                   "NOT be compacted: create it yourself with cleanup.policy=compact on a real cluster",
                   where, why);
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(kt->c_->producer, s.topic.c_str(), nullptr);
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(kt->c_->producer, 0, rkt, &md, timeout) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
      rd_kafka_topic_destroy(rkt);
    }
    const auto deadline = clock::now() + s.timeout;
    for (;;) {
      n = partition_count(kt->c_->consumer, s.topic, remaining_ms(deadline));
      if (n && *n > 0) break;
      if (clock::now() >= deadline)
        return std::unexpected(where + "the topic could not be created" + (why.empty() ? std::string() : " (" + why + ")"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(*n);
  for (int p = 0; p < *n; ++p) rd_kafka_topic_partition_list_add(parts, s.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  const rd_kafka_resp_err_t err = rd_kafka_assign(kt->c_->consumer, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (err) return std::unexpected(where + "assign: " + rd_kafka_err2str(err));
  kt->c_->position.assign(static_cast<std::size_t>(*n), 0);
  return kt;
}

std::expected<void, std::string> key_topic::write(std::span<const enc::store_record> records) {
  // Results are written by delivery callbacks; kept on the heap, and leaked if a message is
  // still in flight when we give up (its callback would write into it later).
  auto* results = new std::vector<rd_kafka_resp_err_t>(records.size(), RD_KAFKA_RESP_ERR__IN_PROGRESS);
  rd_kafka_t* p = c_->producer;
  std::string failed;
  for (std::size_t i = 0; i < records.size() && failed.empty(); ++i) {
    const std::string& id = records[i].id;
    void* payload = records[i].value ? const_cast<char*>(records[i].value->data()) : nullptr;
    const std::size_t payload_len = records[i].value ? records[i].value->size() : 0;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(settings_.topic.c_str()), RD_KAFKA_V_KEY(id.data(), id.size()),
        RD_KAFKA_V_VALUE(payload, payload_len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&(*results)[i]), RD_KAFKA_V_END);
    if (err) {
      (*results)[i] = err;
      failed = rd_kafka_err2str(err);
    }
  }
  rd_kafka_flush(p, static_cast<int>(settings_.timeout.count()));
  if (rd_kafka_outq_len(p) > 0) {
    rd_kafka_purge(p, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p, 2000);
  }
  const bool settled = rd_kafka_outq_len(p) == 0;
  for (const auto e : *results)
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && failed.empty())
      failed = e == RD_KAFKA_RESP_ERR__IN_PROGRESS ? std::string("not acknowledged in time") : rd_kafka_err2str(e);
  if (settled) delete results;
  if (!failed.empty()) return std::unexpected("writing: " + failed);
  return {};
}

std::expected<void, std::string> key_topic::read_new(
    const std::function<void(std::string_view, std::optional<std::string_view>)>& seen) {
  rd_kafka_t* rk = c_->consumer;
  const auto deadline = clock::now() + settings_.timeout;
  const int n = static_cast<int>(c_->position.size());
  std::vector<std::int64_t> end(static_cast<std::size_t>(n));
  for (int p = 0; p < n; ++p) {
    std::int64_t lo = 0, hi = 0;
    const rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, settings_.topic.c_str(), p, &lo, &hi, remaining_ms(deadline));
    if (err) return std::unexpected(std::string("end offsets: ") + rd_kafka_err2str(err));
    end[static_cast<std::size_t>(p)] = hi;
    auto& pos = c_->position[static_cast<std::size_t>(p)];
    pos = std::max(pos, lo);  // compacted or deleted below lo
  }
  auto done = [&] {
    for (int p = 0; p < n; ++p)
      if (c_->position[static_cast<std::size_t>(p)] < end[static_cast<std::size_t>(p)]) return false;
    return true;
  };
  while (!done()) {
    if (clock::now() >= deadline) return std::unexpected(std::string("reading: timed out before its end"));
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, std::min(100, remaining_ms(deadline)));
    if (!m) continue;
    if (m->partition >= 0 && m->partition < n) {
      auto& pos = c_->position[static_cast<std::size_t>(m->partition)];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        pos = std::max(pos, m->offset);
      } else if (!m->err) {
        pos = std::max(pos, m->offset + 1);
        if (m->key) {
          const std::string_view id(static_cast<const char*>(m->key), m->key_len);
          if (m->payload) seen(id, std::string_view(static_cast<const char*>(m->payload), m->len));
          else seen(id, std::nullopt);
        }
      } else {
        log::keys().debug("key topic: {}", rd_kafka_message_errstr(m));
      }
    }
    rd_kafka_message_destroy(m);
  }
  return {};
}

}  // namespace kgw::gateway

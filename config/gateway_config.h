#pragma once
// The gateway's configuration model: plain values, loaded and validated by config/loader.h.
// Threading: immutable after loading; shared read-only by all worker threads.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/policy_config.h"

namespace kgw::config {

struct host_port {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
  bool operator==(const host_port&) const = default;
};

struct topic_spec {
  std::string name;
  int partitions = 1;
  bool operator==(const topic_spec&) const = default;
};

// A broker the gateway runs for demos and tests (librdkafka's mock cluster, in a child process).
struct embedded_upstream {
  int brokers = 3;
  std::vector<topic_spec> topics;
  bool operator==(const embedded_upstream&) const = default;
};

// Security protocols as Kafka names them (listener.security.protocol.map values).
enum class security_protocol { plaintext, ssl, sasl_plaintext, sasl_ssl };
inline bool uses_tls(security_protocol p) { return p == security_protocol::ssl || p == security_protocol::sasl_ssl; }
inline bool uses_sasl(security_protocol p) {
  return p == security_protocol::sasl_plaintext || p == security_protocol::sasl_ssl;
}
inline const char* security_protocol_name(security_protocol p) {
  switch (p) {
    case security_protocol::plaintext: return "PLAINTEXT";
    case security_protocol::ssl: return "SSL";
    case security_protocol::sasl_plaintext: return "SASL_PLAINTEXT";
    case security_protocol::sasl_ssl: return "SASL_SSL";
  }
  return "?";
}

enum class client_auth_mode { none, requested, required };  // Kafka's ssl.client.auth

// TLS settings common to both sides. Secret material is held as contents (PEM text), already
// read from its file or environment variable by the loader; it is never logged.
struct tls_settings {
  std::string certificate_pem;  // own certificate chain (server: required; upstream: optional client cert)
  std::string key_pem;
  std::string key_password;     // for an encrypted key
  std::string ca_pem;           // trust anchors for the peer's certificate
  std::string min_version = "TLSv1.2";  // TLSv1.2 | TLSv1.3
  std::string ciphers;          // TLS 1.2 cipher list, OpenSSL syntax ("" = OpenSSL's default)
  std::string ciphersuites;     // TLS 1.3 suites
  std::string curves;           // key-exchange groups, e.g. "X25519:P-256"
  bool operator==(const tls_settings&) const = default;
};

struct tls_server_settings : tls_settings {
  client_auth_mode client_auth = client_auth_mode::none;
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  bool operator==(const tls_server_settings&) const = default;
};

struct tls_client_settings : tls_settings {
  bool verify_hostname = true;
  std::string server_name;  // SNI and name to verify; "" = the broker's host
  bool operator==(const tls_client_settings&) const = default;
};

struct oauthbearer_settings {
  std::string jwks_json;  // the JWKS document (contents)
  std::string issuer;     // required "iss" ("" = not checked)
  std::vector<std::string> audiences;  // "aud" must contain one ("" list = not checked)
  std::string principal_claim = "sub";
  std::chrono::seconds clock_skew{30};
  bool operator==(const oauthbearer_settings&) const = default;
};

struct sasl_server_settings {
  std::vector<std::string> mechanisms;  // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
  std::optional<oauthbearer_settings> oauthbearer;
  std::chrono::milliseconds auth_timeout{std::chrono::seconds(10)};  // from accept to authenticated
  bool operator==(const sasl_server_settings&) const = default;
};

// One place clients connect to. Every listener has its own bootstrap port and its own range of
// per-broker ports (port-per-broker works on each).
struct listener_config {
  std::string name;
  host_port listen;
  std::string advertised_host;
  std::uint16_t broker_port_first = 0, broker_port_last = 0;
  security_protocol protocol = security_protocol::plaintext;
  std::optional<tls_server_settings> tls;
  std::optional<sasl_server_settings> sasl;
  // Kafka-style ssl.principal.mapping.rules for client certificates; first match wins. Used on
  // SSL listeners; on SASL_SSL the principal comes from SASL, as on a broker.
  std::vector<std::string> principal_mapping_rules{"DEFAULT"};
  // Open client connections of this listener (Kafka's listener.name.X.max.connections): at the
  // limit it stops accepting until one closes. Unset: no limit of its own.
  std::optional<int> max_connections;
  bool operator==(const listener_config&) const = default;
};

// A principal the policies can refer to: its teams and attributes, and the stored SCRAM
// credentials (salted keys) that SASL/PLAIN and SCRAM check passwords against.
struct principal_config {
  std::string name;
  std::vector<std::string> teams;
  std::map<std::string, std::string> attributes;
  std::vector<std::string> credentials;  // stored forms from `kafka-gateway passwd`
  bool operator==(const principal_config&) const = default;
};

struct upstream_sasl_settings {
  std::string mechanism;  // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
  std::string username;
  std::string password;
  bool operator==(const upstream_sasl_settings&) const = default;
};

// The admin HTTP listener: /metrics (Prometheus text), /healthz, /readyz. Off unless configured;
// its own address, loopback by default. Label values of principals and topics are capped (the
// rest are folded into "other") so a scrape stays bounded whatever clients do.
struct admin_settings {
  host_port listen{"127.0.0.1", 9644};
  std::string bearer_token;  // secret; "" = no token asked (loopback use)
  std::optional<tls_server_settings> tls;
  std::size_t max_principals = 100;  // distinct principal label values, then "other"
  std::size_t max_topics = 200;      // distinct topic label values, then "other"
  bool operator==(const admin_settings&) const = default;
};

// The audit trail (gateway/audit/audit_log.h): CloudEvents 1.0 JSON, one per decision, to a
// JSON-lines file and/or a topic on the upstream cluster. Off unless configured.
struct audit_settings {
  enum class traffic_mode { rollup, per_request, off };
  enum class fail_mode { open, closed };
  std::string instance;  // the event source; "" = this host's name
  traffic_mode traffic = traffic_mode::rollup;
  std::chrono::milliseconds rollup_interval{std::chrono::seconds(60)};
  std::size_t queue_capacity = 10000;  // events waiting for the sinks
  fail_mode fail = fail_mode::open;
  struct file_sink {
    std::string path;
    std::size_t max_bytes = 100u * 1024 * 1024;  // rotate past this size; 0 = never (logrotate, SIGUSR1)
    int keep = 5;                                // rotated files kept: path.1 .. path.keep
    bool operator==(const file_sink&) const = default;
  };
  struct kafka_sink {
    std::string topic = "_kgw_audit";
    std::vector<host_port> bootstrap;  // empty: the upstream cluster (with upstream.tls/sasl)
    bool operator==(const kafka_sink&) const = default;
  };
  std::optional<file_sink> file;
  std::optional<kafka_sink> kafka;
  bool operator==(const audit_settings&) const = default;
};

struct gateway_config {
  std::string source;  // file the config came from, for messages

  // The single PLAINTEXT listener used when `listeners` is empty (the `gateway.listen` shorthand).
  host_port listen{"127.0.0.1", 19092};  // bootstrap address clients use
  std::string advertised_host = "127.0.0.1";
  std::uint16_t broker_port_first = 19093;  // one port per upstream broker id
  std::uint16_t broker_port_last = 19120;
  int workers = 0;  // 0 = one per core

  std::size_t max_frame_bytes = 100u * 1024 * 1024;
  // Bound on the request bytes all connections together may hold while their requests are still
  // arriving (Kafka's queued.max.request.bytes). A connection whose next request would pass it
  // stops reading until memory is freed. At least max_frame_bytes, so any one request fits.
  std::size_t max_buffered_request_bytes = 256u * 1024 * 1024;
  // Governed batches kept for sessions whose views decide alike (policies/transform_cache.h):
  // N consumer groups reading a topic through one view govern each batch once. 0: off.
  std::size_t transform_cache_bytes = 32u * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};  // Kafka's connections.max.idle.ms
  // A request that has started to arrive must arrive whole within this (0 = no limit): a client
  // trickling bytes cannot hold its connection, and the broker connection behind it, for ever.
  // Kafka clients give a request request.timeout.ms (30 s) from send to answer.
  std::chrono::milliseconds request_read_timeout{std::chrono::seconds(30)};
  // A client must take a response the gateway writes to it within this (0 = no limit): one that
  // stops reading its socket is closed, and what was buffered for it freed, instead of holding
  // it until the idle timeout. librdkafka's socket.timeout.ms (60 s) gives a request as long.
  std::chrono::milliseconds response_write_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds upstream_connect_timeout{std::chrono::seconds(10)};
  // Kafka's connection.failed.authentication.delay.ms: the answer to a failed login waits this long.
  std::chrono::milliseconds failed_authentication_delay{100};
  int auth_threads = 0;  // threads checking passwords and tokens (gateway/auth_pool.h); 0 = cores / 4, at least 1
  // Open client connections of the whole gateway (Kafka's max.connections); at the limit the
  // gateway stops accepting until one closes, as a broker does. Unset: no limit.
  std::optional<int> max_connections;

  std::vector<host_port> upstream_bootstrap;
  std::optional<embedded_upstream> embedded;
  security_protocol upstream_protocol = security_protocol::plaintext;
  std::optional<tls_client_settings> upstream_tls;
  std::optional<upstream_sasl_settings> upstream_sasl;

  std::vector<listener_config> listeners;  // empty: one PLAINTEXT listener from the fields above
  std::map<std::string, principal_config> principals;
  policy_config policies;  // one section per policy (config/policy_config.h)

  std::string log_level = "info";  // levels per logger: config/log_levels.h
  std::optional<admin_settings> admin;
  std::optional<audit_settings> audit;

  // The listeners to open: `listeners`, or the shorthand listener.
  std::vector<listener_config> effective_listeners() const {
    if (!listeners.empty()) return listeners;
    listener_config l;
    l.name = "default";
    l.listen = listen;
    l.advertised_host = advertised_host;
    l.broker_port_first = broker_port_first;
    l.broker_port_last = broker_port_last;
    return {l};
  }
  bool operator==(const gateway_config&) const = default;
};

}  // namespace kgw::config

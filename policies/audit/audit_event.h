#pragma once
// The audit trail's events: CloudEvents 1.0 in JSON (structured mode), one per line. What a
// decision becomes (policies/decision.h):
//   kafka.gateway.authentication  a login, or a refused TLS handshake / SASL exchange
//   kafka.gateway.authorization   an entry of a request denied, with its Kafka error, the ACL
//                                 operation and the rule that denied it (file:line:col)
//   kafka.gateway.policy          what a view, validation or encryption did to records that it
//                                 could not deliver as asked (corrupt batch, undecryptable
//                                 field, invalid record); per request also the rest
//   kafka.gateway.reload          a configuration reload, accepted or rejected
//   kafka.gateway.keys            a data key made, erased (crypto-shredding) or that failed
//   kafka.gateway.traffic         data produced or fetched: one rollup per (principal, topic,
//                                 API) per interval, or one per request and topic
// Nothing secret is ever written: decisions carry no passwords, tokens, key material or record
// values, and the detail texts that reach here are made for logs.
// Threading: pure functions over their arguments.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "policies/decision.h"

namespace kgw::policies::audit {

// Who writes the events: the CloudEvents `source` and the prefix that makes `id`s unique per
// source (the process's start time, so a restarted instance never repeats an id).
struct event_source {
  std::string instance;   // e.g. the host name, or audit.instance
  std::string source;     // "/kafka-gateway/<instance>"
  std::string id_prefix;  // "<instance>-<start ms>-"
  static event_source make(std::string instance, std::chrono::system_clock::time_point started);
};

// Whether and how a decision is audited by itself (the rest is rolled up as traffic).
enum class audit_class { one_by_one, rolled_up, not_audited };
audit_class classify(const decision& d, bool per_request);

// "kafka.gateway.authorization" and the like, for a decision audited by itself.
const char* event_type(const decision& d);

// RFC 3339 UTC with milliseconds: 2026-12-06T01:35:05.123Z.
void append_time(std::chrono::system_clock::time_point t, std::string& out);

// Appends one event (a JSON object, no newline) for a decision audited by itself.
void append_event(const decision& d, const event_source& src, std::uint64_t seq,
                  std::chrono::system_clock::time_point at, std::string& out);

// One (principal, topic, API) row of a traffic rollup.
struct traffic_row {
  std::string_view principal, topic;
  std::int16_t api_key = -1;
  std::uint64_t requests = 0, bytes = 0, records = 0;
  tally_counts counts{};  // what governed stages did to these records (non-zero ones are listed)
};

// Appends one kafka.gateway.traffic rollup event for [from, to).
void append_rollup(const traffic_row& row, std::chrono::system_clock::time_point from,
                   std::chrono::system_clock::time_point to, std::uint64_t generation, const event_source& src,
                   std::uint64_t seq, std::chrono::system_clock::time_point at, std::string& out);

}  // namespace kgw::policies::audit

#pragma once
// Thin RAII wrappers over the librdkafka C API for the end-to-end tests. Any librdkafka property
// may be passed in `extra`; for OAUTHBEARER, "sasl.oauthbearer.config" = "token=<JWS>" makes the
// client present that token. A producer that waits for
// every delivery report and a consumer whose records are plain values that compare exactly
// (partition, offset, key, value), so "byte-identical" is a set comparison.
//
// Threading: each object is used by one thread. Several consumers may be polled from the same
// thread (poll_until does that, so every member of a group keeps heartbeating).
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_message_s;

namespace kgw::e2e {

using clock = std::chrono::steady_clock;
using settings = std::vector<std::pair<std::string, std::string>>;
using key_value = std::pair<std::string, std::string>;

struct record {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key, value;
  auto operator<=>(const record&) const = default;
};
std::string describe(const record& r);

// n records "<prefix>-key-<i>" -> "<prefix>-value-<i>-" padded with printable filler to value_size.
std::vector<key_value> keyed_payloads(const std::string& prefix, int n, std::size_t value_size = 100);

class producer {
 public:
  explicit producer(const std::string& bootstrap, const settings& extra = {});
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // Sends every record to `topic` (partition chosen by key) and waits, until `deadline`, for all
  // delivery reports. Returns the delivered records with partition and offset from the reports
  // (offset is -1 with acks=0). Failed deliveries go to errors().
  std::vector<record> produce(const std::string& topic, const std::vector<key_value>& records,
                              clock::time_point deadline);
  const std::vector<std::string>& errors() const { return errors_; }
  // Client-level errors from librdkafka's error callback ("_AUTHENTICATION: ..."), served by
  // produce()'s polling.
  const std::vector<std::string>& client_errors() const { return client_errors_; }
  std::vector<std::string> client_errors_;

 private:
  static void on_delivery(rd_kafka_s*, const rd_kafka_message_s* msg, void* opaque);
  rd_kafka_s* rk_ = nullptr;
  std::vector<record> pending_;
  std::vector<bool> delivered_;
  std::size_t outstanding_ = 0;
  std::vector<std::string> errors_;
};

class consumer {
 public:
  // group empty: assign-only use (assign_all), never joins. Defaults: earliest, no auto commit,
  // fast heartbeats.
  consumer(const std::string& bootstrap, const std::string& group, const settings& extra = {});
  ~consumer();
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  void subscribe(const std::vector<std::string>& topics);
  void assign_all(const std::string& topic, int partitions);  // from the beginning, no group
  void assign(const std::string& topic, const std::map<std::int32_t, std::int64_t>& offsets);  // partition -> offset
  // One poll. Partition EOF is not an error; other errors are collected in errors().
  std::optional<record> poll(std::chrono::milliseconds timeout);
  std::set<std::int32_t> assignment() const;
  // Commits partition -> next offset to read, synchronously. Returns an error text, empty on success.
  std::string commit(const std::string& topic, const std::map<std::int32_t, std::int64_t>& offsets);
  // Commits the current positions of all assigned partitions, synchronously.
  std::string commit_positions();
  // partition -> committed offset (-1001 = none) as the group coordinator reports it.
  std::map<std::int32_t, std::int64_t> committed(const std::string& topic, int partitions,
                                                 std::chrono::milliseconds timeout);
  // partition -> {low, high} watermark as the partition leader reports it; partitions whose query
  // failed are absent.
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> watermarks(const std::string& topic, int partitions,
                                                                           std::chrono::milliseconds timeout);
  void close();  // leaves the group; idempotent
  const std::vector<std::string>& errors() const { return errors_; }
  // Client-level errors from librdkafka's error callback, served by poll().
  const std::vector<std::string>& client_errors() const { return client_errors_; }
  std::vector<std::string> client_errors_;

 private:
  rd_kafka_s* rk_ = nullptr;
  bool closed_ = false;
  std::vector<std::string> errors_;
};

// Polls every consumer in turn with short polls and hands each record to on_record(index, rec),
// until done() returns true or the deadline passes. Returns done().
bool poll_until(std::span<consumer* const> consumers, const std::function<void(std::size_t, record&&)>& on_record,
                const std::function<bool()>& done, clock::time_point deadline);

}  // namespace kgw::e2e

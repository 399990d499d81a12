#pragma once
// Clients that keep running while a test breaks things around them (the fleet and fault tests):
// a librdkafka producer writing "<prefix>-<n>" at a steady rate and recording what the cluster
// acknowledged and what failed for good, and a librdkafka group member that reads and commits
// until told to finish. A test compares what they saw with the broker's log.
// Threading: each runs its own thread; the accessors may be called from any thread. Construct,
// stop and destroy from the test thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/rdkafka_client.h"

struct rd_kafka_s;
struct rd_kafka_message_s;

namespace kgw::e2e {

// Writes "<prefix>-<n>" (key = value) to `topic` every `period` until stopped. Its settings:
// acks=all, linger 5 ms, message timeout 90 s, quick reconnects; `extra` overrides them.
class steady_producer {
 public:
  steady_producer(const std::string& bootstrap, const std::string& topic, const std::string& prefix, bool idempotent,
                  const settings& extra = {}, std::chrono::microseconds period = std::chrono::milliseconds(3));
  ~steady_producer();
  steady_producer(const steady_producer&) = delete;
  steady_producer& operator=(const steady_producer&) = delete;

  // Stops producing and waits (until the deadline) for every record's final delivery report.
  void stop(clock::time_point flush_deadline);
  std::size_t acked_count() const { return acked_count_.load(); }
  std::size_t failed_count() const { return failed_count_.load(); }
  std::set<std::string> acked() const;
  std::vector<std::string> failures() const;  // the first 20, "<value>: <error>"
  std::size_t sent() const { return sent_; }
  std::size_t unreported() const;  // records still waiting for their delivery report

 private:
  void run();
  static void on_delivery(rd_kafka_s*, const rd_kafka_message_s* m, void* opaque);

  std::string topic_, prefix_;
  std::chrono::microseconds period_;
  rd_kafka_s* rk_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  clock::time_point flush_deadline_;
  std::atomic<std::size_t> sent_{0};
  mutable std::mutex mu_;
  std::set<std::string> acked_;
  std::atomic<std::size_t> acked_count_{0}, failed_count_{0};
  std::vector<std::string> failures_;
};

// A librdkafka group member of `group` reading `topic` in its own thread, committing what it read
// after each batch; once told to finish it reads on until nothing new came for 3 s, commits and
// reports.
class group_reader {
 public:
  group_reader(const std::string& bootstrap, const std::string& group, const std::string& topic, int partitions,
               const settings& extra = {});
  ~group_reader();
  group_reader(const group_reader&) = delete;
  group_reader& operator=(const group_reader&) = delete;

  void finish(clock::time_point deadline);
  std::size_t count() const { return count_.load(); }
  std::set<std::string> values() const;
  std::size_t client_errors() const { return client_errors_.load(); }  // librdkafka's error callback so far
  std::map<std::int32_t, std::int64_t> committed;  // after finish()
  std::string error;                               // after finish()

 private:
  void run();

  std::string group_, bootstrap_, topic_;
  int partitions_;
  settings extra_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  clock::time_point deadline_;
  mutable std::mutex mu_;
  std::set<std::string> values_;
  std::atomic<std::size_t> count_{0}, client_errors_{0};
};

// Waits until `grew()` is true (a client made progress), up to `within`.
bool progress(const std::function<bool()>& grew, std::chrono::seconds within);

}  // namespace kgw::e2e

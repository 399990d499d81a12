#pragma once
// An in-process Kafka cluster for demos, end-to-end tests and the bench: librdkafka's mock
// cluster (rdkafka_mock.h), which implements the broker side of the protocol for real.
//
// What the librdkafka 2.0.2 mock actually does (measured with kcat -X debug=protocol,feature):
// - Broker ids are 1..N. Each broker listens on its own port on 127.0.0.1, bound to port 0, so
//   ports come from the kernel's ephemeral range; bootstrap() lists them in id order.
// - Metadata (<= v2) advertises every broker as "127.0.0.1" with that port, rack null.
// - Replication factor: the argument to rd_kafka_mock_topic_create() is ignored; every partition
//   reports replicas = isr = the first min(3, N) brokers and a random leader among them, so with
//   N > 3 brokers 4..N lead nothing (they still serve as group/txn coordinators).
// - Auto-create: Metadata for an unknown topic creates it with 4 partitions. Metadata <= v2 has
//   no allow_auto_topic_creation flag, so clients cannot opt out (kcat -P to a typo creates it).
//   CreateTopics/DeleteTopics are not implemented.
// - ApiVersions it advertises (min..max): Produce 0..7, Fetch 0..11, ListOffsets 0..5,
//   Metadata 0..2, OffsetCommit 0..7, OffsetFetch 0..5, FindCoordinator 0..2, JoinGroup 0..5,
//   Heartbeat 0..3, LeaveGroup 0..1, SyncGroup 0..3, ApiVersions 0..2, InitProducerId 0..4,
//   AddPartitionsToTxn 0..1, AddOffsetsToTxn 0..1, EndTxn 0..1, TxnOffsetCommit 0..2.
//   Only InitProducerId v2..4 is a flexible version (response header v1); everything else it
//   speaks uses response header v0. No DescribeCluster (60), no SASL, no admin APIs.
// - It answers Produce requests with acks=0 too (a real broker sends nothing). librdkafka drops
//   the stray response ("Response for unknown CorrId"); a proxy that matches responses to
//   requests must expect it and must not forward it (the Java client would fail on it).
// - Its Produce v5 response omits log_start_offset (kafka-python with api_version=(1,1,0), which
//   sends v5, fails to decode it); v3/v4/v6/v7 are fine. librdkafka uses v7.
// - Each partition log keeps at most ~5 MB / 100k messages; beyond that the oldest batches are
//   dropped, so a consumer starting from the beginning silently misses them (log start moves).
// - Groups: a new group's first join waits ~3 s; a join after a member left waits about the
//   session timeout minus 1 s. SyncGroup completes as soon as the leader's arrives: a
//   follower's SyncGroup after that gets INVALID_REQUEST (42), and a commit during a
//   rebalance is refused (REBALANCE_IN_PROGRESS). Tests use short session timeouts and let
//   the leader wait briefly before assigning.
//
// Threading: construct and destroy on one thread. The mock serves all brokers from its own
// thread; bootstrap() and broker_ports() are immutable after construction and may be read from
// any thread.
#include <cstdint>
#include <string>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace kgw::gateway {

struct embedded_topic {
  std::string name;
  int partitions = 1;
};

class embedded_cluster {
 public:
  // Starts `brokers` (1..64) mock brokers on 127.0.0.1 and creates the topics.
  // Throws std::runtime_error with a clear message on bad arguments or if the mock fails.
  embedded_cluster(int brokers, const std::vector<embedded_topic>& topics);
  ~embedded_cluster();
  embedded_cluster(const embedded_cluster&) = delete;
  embedded_cluster& operator=(const embedded_cluster&) = delete;

  // "127.0.0.1:p1,127.0.0.1:p2,..." in broker id order (id 1 first).
  const std::string& bootstrap() const { return bootstrap_; }
  // The brokers' listening ports in broker id order (broker_ports()[0] is broker 1).
  const std::vector<std::uint16_t>& broker_ports() const { return ports_; }
  int brokers() const { return static_cast<int>(ports_.size()); }
  // Takes broker `id` down (its connections drop, new ones are refused) or back up: for tests
  // of upstream loss.
  void set_broker_up(int id, bool up);
  // Delays every answer of broker `id` by rtt_ms (0: none): for tests of slow brokers.
  void set_broker_rtt(int id, int rtt_ms);

 private:
  rd_kafka_s* rk_ = nullptr;                     // owner handle the mock requires; never connects
  rd_kafka_mock_cluster_s* mock_ = nullptr;
  std::string bootstrap_;
  std::vector<std::uint16_t> ports_;
};

}  // namespace kgw::gateway

#pragma once
// What the embedded broker actually stores for a topic, read straight from the mock (never
// through the gateway). It is the reference the records that clients produce and consume
// through the gateway are compared with: a record the gateway altered or duplicated on the way
// in shows up here, one it altered, dropped or duplicated on the way out shows up as a
// difference from this.
// Threading: call from the test thread.
#include <string>
#include <vector>

#include "gateway/dev/embedded_cluster.h"
#include "tests/e2e/rdkafka_client.h"

namespace kgw::e2e {

struct broker_contents {
  std::vector<record> records;  // every record from each partition's log start to its high watermark
  std::string error;            // empty when all of them were read before the deadline
};

// at_least: first wait (until the deadline) for the partitions to hold that many records in all,
// for producers that do not wait for the broker (acks=0), whose last requests may still be on
// their way through the gateway when the producer exits.
broker_contents read_from_broker(const gateway::embedded_cluster& cluster, const std::string& topic, int partitions,
                                 clock::time_point deadline, std::size_t at_least = 0);
// The same from a broker in another process (`kafka-gateway dev-cluster`), by its bootstrap list.
broker_contents read_from_broker(const std::string& broker_bootstrap, const std::string& topic, int partitions,
                                 clock::time_point deadline, std::size_t at_least = 0);

}  // namespace kgw::e2e

#pragma once
// `kafka-gateway dev-cluster`: runs the embedded broker (embedded_cluster.h) as its own process,
// for demos and the bench, so the broker and the gateway can be measured separately.
//
//   kafka-gateway dev-cluster --brokers N --topic NAME[:PARTITIONS] [--topic ...]
//
// Prints the bootstrap list "127.0.0.1:p1,127.0.0.1:p2,..." as the first line of stdout (flushed,
// so a script can `read` it), then runs until SIGINT or SIGTERM and exits 0.
// Exit codes: 0 clean shutdown or --help, 1 the cluster failed to start, 2 bad arguments.
//
// Threading: call from the main thread before any other thread exists: it blocks SIGINT and
// SIGTERM process-wide (so librdkafka's threads inherit the mask) and waits for them with
// sigwait().
namespace kgw::gateway {

// argv[0] is "dev-cluster".
int run_dev_cluster(int argc, char** argv);

}  // namespace kgw::gateway

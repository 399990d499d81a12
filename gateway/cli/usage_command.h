#pragma once
// `kafka-gateway usage`: what each principal produced and fetched per topic, in records and
// bytes, for chargeback (gateway/usage_report.h):
//
//   usage --metrics URL [--over DURATION] [--token-file FILE] [--ca FILE] [--csv]
//       from a gateway's admin listener (http:// or https://): the totals since it started, or
//       with --over what it counted during that period (two scrapes DURATION apart)
//   usage --audit FILE [--audit FILE ...] [--from TIME] [--to TIME] [--csv]
//       from audit trail files (the traffic rollups): every instance's, for any period
//
// For a fleet, sum the instances' reports, or ask Prometheus for
// sum by (principal, topic, api) (increase(kafka_gateway_traffic_bytes_total[30d])).
// Exit codes: 0 done (or --help), 1 it could not be done (the reason on stderr), 2 bad arguments.
// Threading: call from the main thread.
namespace kgw::gateway {

// argv[0] is "usage".
int run_usage_command(int argc, char** argv);

}  // namespace kgw::gateway

#pragma once
// `kafka-gateway health`: checks a running gateway from beside it (a container HEALTHCHECK, an
// exec probe), reading the same configuration file (--config, else KAFKA_GATEWAY_CONFIG):
//   with an admin listener: GET /healthz there (/readyz with --ready), with the configured
//   bearer token; over TLS the certificate is not checked (a probe of its own process over
//   loopback: use --url and --ca for a checked one);
//   without one: every listener's bootstrap port accepts a connection (--ready needs the admin
//   listener: readiness includes the upstream and the KMS).
// Exit codes: 0 healthy (ready), 1 not (the reason on stderr), 2 bad arguments.
// Threading: call from the main thread.
namespace kgw::gateway {

// argv[0] is "health".
int run_health_command(int argc, char** argv);

}  // namespace kgw::gateway

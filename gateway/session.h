#pragma once
// A client connection and its upstream broker connection: the relay loop. First the client's
// identity (gateway/client_handshake: TLS and SASL as the listener requires); only then, and
// only once the first request has arrived whole, is the upstream connection opened
// (unauthenticated clients and idle sockets never reach a broker). Then the relay, by
// two coroutines on the session's worker thread:
//   client -> upstream: parse each request header, run the principal's policy chain on what it
//                       wants (gateway/policy_chain; unknown topic ids are looked up first,
//                       gateway/topic_id_lookup), note the request in the in-flight queue
//                       (gateway/inflight_queue), forward the received bytes or the rewrite;
//   upstream -> client: match each response to the oldest in-flight request (Kafka answers in
//                       order on a connection), govern it if its request's policies asked,
//                       rewrite addresses where needed, forward; large pass-through responses
//                       cut through and are spliced (gateway/splice_relay).
// Many requests may be in flight (pipelining). Either side closing, a malformed frame, the idle
// timeout, or a request not arriving whole within request_read_timeout ends both connections; an upstream loss is never papered over with an invented
// response: the client reconnects and retries.
// Threading: every member is touched only from the worker's thread.
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/connection_slots.h"

namespace kgw::gateway {

struct worker;
struct listener_runtime;

// Where a client connection goes: the bootstrap brokers (round-robin) or one broker.
struct upstream_target {
  std::optional<std::int32_t> node_id;  // empty = bootstrap
  std::vector<config::host_port> candidates;
};

// Starts a session on the worker that owns `client`. slot: its share of max_connections;
// counted_address: the client's address, when the per-address connection limits counted it (the
// session gives both back when it ends).
void start_session(worker& w, const listener_runtime& l, boost::asio::ip::tcp::socket client, upstream_target target,
                   connection_slot slot, std::string counted_address = {});

// Asks every session of the worker to finish: stop reading requests, deliver the responses
// still in flight, then close. Runs on the worker's thread.
void drain_sessions(worker& w);

// Publishes every session's request and byte counts to the worker's metrics (when it has
// them). Runs on the worker's thread, once a second.
void publish_session_counts(worker& w);

}  // namespace kgw::gateway

#pragma once
// The topic-id lookup service: learns the cluster's topic id -> name map into the worker's
// topic_names with a Metadata request of the gateway's own, on a connection of its own (the
// session's upstream connection is busy relaying). A session awaits it when a policy asks for
// ids it has not learnt (verdict lookup_topic_ids), then asks the policy again. Bounded by twice
// the upstream connect timeout; failures are logged and leave the ids unknown (the policies
// then fail those topics closed).
// Threading: a coroutine on the session's worker thread; writes only that worker's topic_names.
#include <boost/asio/awaitable.hpp>
#include <string_view>

namespace kgw::gateway {

struct worker;

// peer: the client the lookup is for, for the log.
boost::asio::awaitable<void> lookup_topic_ids(worker& w, std::string_view peer);

}  // namespace kgw::gateway

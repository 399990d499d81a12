#pragma once
// THE policy interface. A policy is compiled per (configuration generation, principal) by its
// registry line (policies/registry.h), is immutable, and is shared by every session of that
// principal on every worker. The gateway's chain (gateway/policy_chain.h) runs a principal's
// policies in registry order over ONE decode of each message some policy asked for (wants());
// everything else goes through as the bytes that arrived, cut through and spliced.
//
// Request:  on_request() of each policy that wants the API key, in order. A policy may take
//           entries out of the decoded request (each denial with its Kafka error, reported with
//           exchange.denied()), answer locally, drop, close the connection, or ask the chain to
//           look up unknown topic ids first or to wait for work it started (the chain awaits
//           either and asks again). What it needs to see again in the response it returns as a
//           response_step.
// Response: on_response() of each policy that left a step, or wants the API's responses, in
//           order, over one shared decode; a local answer goes through the response halves of
//           the policies before the one that answered, as if a broker had sent it.
// Records:  record_stages() gives, per topic, what runs on each record of a batch the chain
//           decoded once for all record policies, in stage order (fetch: decrypt -> view).
//
// No sockets and no gateway types here: policies never call back into the relay.
// Threading: const methods, called concurrently from every worker; per-message state lives in
// the exchange, per-request state in the response_step.
#include <bitset>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policies/exchange.h"
#include "policies/record.h"

namespace kgw::policies {

// One bit per API key (Kafka's keys are below 128).
using api_set = std::bitset<128>;
inline bool has(const api_set& s, std::int16_t key) { return key >= 0 && key < 128 && s.test(static_cast<std::size_t>(key)); }

// What a policy must see. Messages outside it are not decoded for this policy.
struct interest {
  api_set requests;   // on_request for these keys
  bool every_request = false;  // on_request for every key, also outside 0-127 (ACLs refuse those)
  api_set responses;  // on_response for every response of these keys (also without a step)
  bool fetch_records = false;  // record_stages(topic) for Fetch responses
};

inline bool wants_request(const interest& i, std::int16_t key) { return i.every_request || has(i.requests, key); }

// What a policy remembers of a request for its response (the entries it took out, lists to
// filter). Each policy knows its own steps; the chain only carries them.
struct response_step {
  virtual ~response_step() = default;
};

// Work a policy started and must see finished before it can decide (data keys being made and
// stored): the chain waits for it without blocking its thread (other connections go on), then
// asks the policy again with request_exchange::waited set.
class pending_work {
 public:
  virtual ~pending_work() = default;
  // Calls `done` once, from any thread, when the work has finished, well or not.
  virtual void when_done(std::function<void()> done) = 0;
};

struct request_verdict {
  enum class action {
    forward,           // go on (the request as received, or re-encoded if a policy rewrote it)
    answer,            // nothing to forward: `response` is the answer
    drop,              // nothing to forward and no answer expected (acks=0 Produce, all denied)
    refuse,            // close the connection (`reason`): the request cannot be governed
    lookup_topic_ids,  // ask again after looking up `unknown_topic_ids` (topic_names)
    wait,              // ask again once `pending` is done (bounded: then the policy decides)
  };
  action what = action::forward;
  std::vector<std::byte> response;  // answer: body with header, no size prefix
  std::string reason;               // refuse: for the log
  std::vector<protocol::uuid> unknown_topic_ids;
  std::shared_ptr<pending_work> pending;      // wait
  std::shared_ptr<const response_step> step;  // non-null: on_response sees the response with it
};

// A topic's record stages for one principal, in the order they run: a stage that decrypts goes
// first (its policy inserts it at the front), so views filter and mask the plaintext. error
// non-empty: the policy could not be compiled for this topic; the chain fails the topic closed
// (TOPIC_AUTHORIZATION_FAILED).
struct topic_stages {
  std::vector<std::shared_ptr<const record_stage>> fetch;
  std::string error;
};

class policy {
 public:
  virtual ~policy() = default;
  virtual const char* name() const = 0;
  virtual interest wants() const = 0;

  virtual request_verdict on_request(request_exchange&) const { return {}; }
  // step: what this policy's on_request left (may be null for APIs in wants().responses).
  // Failure: the response cannot be governed; the connection closes, nothing ungoverned leaves.
  virtual std::expected<void, std::string> on_response(const response_step*, response_exchange&) const {
    return {};
  }
  // Adds this policy's record stages for a topic (fetch direction, in stage order).
  virtual void record_stages(std::string_view /*topic*/, topic_stages&) const {}
};

}  // namespace kgw::policies

#pragma once
// The in-flight queue of one client connection: the requests sent upstream, in order, each
// waiting for its answer (Kafka answers in order on a connection), interleaved with the answers
// the gateway gives itself (every entry denied), which leave in their turn behind the broker's
// answers to earlier requests. acks=0 Produce expects nothing; its correlation ids are kept
// briefly to recognise a broker's stray answer to one.
// Threading: one per session, on its worker's thread.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "gateway/policy_chain.h"

namespace kgw::gateway {

struct inflight {
  std::int32_t correlation_id = 0;
  std::int16_t api_key = 0;
  std::int16_t version = 0;  // as sent upstream
  // When its last byte was read (metrics on; else the epoch): the latency histogram's start.
  std::chrono::steady_clock::time_point received{};
  std::chrono::milliseconds throttle{0};  // Produce over its quota: what the gateway adds to the response
  bool unsupported_api_versions = false;
  bool govern = false;                          // the response goes through the policy chain
  std::shared_ptr<const response_steps> steps;  // what the request's policies left for it
  // govern: the chain (of the generation) that authorized the request governs its response.
  std::shared_ptr<policy_chain> policies;
  // Answered by the gateway itself: the response frame, size included.
  std::shared_ptr<const std::vector<std::byte>> local;
};

class inflight_queue {
 public:
  // A broker reads one request per connection at a time, so what it is sent is bounded by TCP;
  // but answers the gateway gives itself queue here behind the broker's, and without a bound a
  // client could pipeline them faster than the broker answers the request in front. Clients
  // pipeline a handful (Kafka's max.in.flight.requests.per.connection is 5); past this the
  // session stops reading.
  static constexpr std::size_t max_pipelined = 1024;

  bool empty() const { return q_.empty(); }
  std::size_t size() const { return q_.size(); }
  bool full() const { return q_.size() >= max_pipelined; }
  const inflight& front() const { return q_.front(); }
  void pop_front() { q_.pop_front(); }

  void expect(inflight req) { q_.push_back(std::move(req)); }
  // acks=0 Produce: no answer expected; remembered to recognise a stray one.
  void expect_none(std::int32_t correlation_id) {
    acks0_.push_back(correlation_id);
    if (acks0_.size() > max_acks0) acks0_.erase(acks0_.begin());
  }
  // The gateway's own answer (body: header and message, no size), delivered in its turn.
  // throttle: a quota's, raised into the answer's throttle_time_ms where it has one.
  void answer_locally(std::int32_t correlation_id, std::int16_t api_key, std::int16_t version,
                      const std::vector<std::byte>& body, std::chrono::milliseconds throttle = {});
  bool local_at_head() const { return !q_.empty() && q_.front().local; }

  enum class match { ok, stray, unsolicited, mismatch };
  // The response with this correlation id against the oldest request. ok: `req` is that
  // request, taken off the queue. stray: an answer to an acks=0 Produce, which Kafka never sends
  // but some brokers (librdkafka's mock) do; the client expects nothing, so it is dropped.
  // unsolicited / mismatch: the connection must end (`req` holds the expected one on mismatch).
  match take(std::int32_t correlation_id, inflight& req);

 private:
  static constexpr std::size_t max_acks0 = 1024;
  // Neither allocates while empty (a std::deque does, even empty): an idle connection holds none.
  std::list<inflight> q_;
  std::vector<std::int32_t> acks0_;
};

}  // namespace kgw::gateway

#pragma once
// The policy chain of one client session: runs its principal's policies (policies/policy.h, in
// registry order) over ONE decode of each message some policy asked for, and encodes what they
// changed once. Requests no policy wants, and responses no policy wants or left a step for, are
// not touched here: the session forwards them as the bytes that arrived.
//
// Fetch responses some policy governs are decoded once here and everything happens on that
// decoded form: the policies' response halves (the ACL's check of every partition), each
// topic's record stages over its batches (record_governor), and the KIP-951 node endpoints
// (address_rewriter::rewrite_decoded, as for every governed response that carries addresses);
// then one encode, which borrows every records field left as it was. A topic the gateway
// cannot name, or whose policies did not compile, is delivered without records (fail closed).
//
// The chain holds its configuration generation: responses to requests it authorized are
// governed by the same policies even after a reload moved the session on.
// Threading: owned by one session (and its in-flight requests), used on its worker's thread only.
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/address_rewriter.h"
#include "policies/decision.h"
#include "policies/policy.h"
#include "policies/record_governor.h"
#include "protocol/wire.h"

namespace kgw::policies {
class policy_set;
struct principal_policies;
class transform_cache;
}  // namespace kgw::policies

namespace kgw::gateway {

struct live_config;
struct request_info;
using policies::topic_names;

// A rewritten response and the buffers it points into (new records fields); alive until written.
struct governed_response {
  protocol::writer w;
  std::deque<std::vector<std::byte>> buffers;
  // The chain decoded the response and rewrote its broker addresses on that decode: unchanged
  // means the received bytes already hold none to rewrite.
  bool addresses_done = false;
  bool traffic_reported = false;  // a decoded Fetch response's traffic went on the decision stream
};

// What the policies' request halves left for the response: (policy index, its step).
using response_steps = std::vector<std::pair<std::size_t, std::shared_ptr<const policies::response_step>>>;

// What the chain decided about one request.
struct chain_request {
  using action = policies::request_verdict::action;
  action what = action::forward;
  bool rewritten = false;           // forward: `request` is the new body (header included, no size)
  protocol::writer request;         // may borrow from the received frame (records)
  std::vector<std::byte> response;  // answer: body with header, no size prefix
  std::string reason;               // refuse
  std::vector<protocol::uuid> unknown_topic_ids;
  std::shared_ptr<policies::pending_work> pending;  // wait
  std::shared_ptr<const response_steps> steps;  // non-null: the response goes through on_response
  bool traffic_reported = false;  // forward: a decoded Produce request's traffic was reported
};

class policy_chain {
 public:
  // gen: the configuration generation (kept alive). origin: where decisions go, about whom.
  policy_chain(std::shared_ptr<const live_config> gen, const std::string& principal, topic_names& names,
               policies::decision_origin origin);
  // An explicit chain (tests, tools); the caller keeps what its policies point into alive.
  // transforms: where governed batches are shared (null: nowhere).
  policy_chain(std::shared_ptr<const policies::principal_policies> chain, const std::string& principal,
               topic_names& names, policies::decision_origin origin,
               std::shared_ptr<policies::transform_cache> transforms = nullptr);
  ~policy_chain();

  bool empty() const;  // no policy applies to this principal: the session relays bytes

  // body: the request frame without its size. ids_looked_up: called again after a
  // lookup_topic_ids answer (ids still unknown are then unknown to the cluster); waited: called
  // again after a wait answer (what a policy waited for is done, or timed out).
  chain_request on_request(const request_info& info, protocol::bytes_view body, bool ids_looked_up = false,
                           bool waited = false);

  // Requests of this key go through on_request (false: relayed as they arrive).
  bool reads_requests(std::int16_t api_key) const;
  // Responses of this key go through on_response even without steps (ACL's Fetch check, views).
  bool governs_responses(std::int16_t api_key) const;

  // A response (body without size). rewritten: the new body (header included) is in out.w.
  // A response some policy decoded has its broker addresses rewritten on the same decode. An
  // error: the response cannot be governed and must not be forwarded.
  rewrite_result on_response(const response_steps* steps, const response_context& ctx, protocol::bytes_view body,
                             address_rewriter& rewriter, governed_response& out);

  // Gives a written response's record buffers back to the worker's pool (policy_chain.cpp):
  // allocating and freeing ~1 MB per partition costs page faults on every response.
  void recycle(governed_response& g);

 private:
  std::expected<void, std::string> run_responses(const response_steps* steps, policies::response_exchange& ex,
                                                 std::size_t before) const;
  std::expected<void, std::string> govern_fetch_records(policies::response_exchange& ex, governed_response& out);
  const policies::topic_stages& stages(std::string_view topic);

  std::shared_ptr<const live_config> gen_;
  std::string principal_;
  topic_names& names_;
  policies::decision_origin origin_;
  std::shared_ptr<const policies::principal_policies> policies_;
  std::vector<policies::interest> wants_;  // per policy, in chain order
  policies::record_governor governor_;
  std::shared_ptr<policies::transform_cache> transforms_;
  std::map<std::string, policies::topic_stages, std::less<>> topics_;
};

}  // namespace kgw::gateway

#pragma once
// Everything policy-related one client session needs, bundled: the principal's ACL and request
// authorizer, its compiled topic views (a session-local map on top of the shared policy_set
// cache, so the hot path takes no lock), and the record governor that applies the views to
// Fetch responses and validation to Produce requests.
//
// Fetch responses are decoded once here and everything happens on that decoded form: the ACL
// check of every partition (incremental sessions), the views on the records, and the KIP-951
// node endpoints; then one encode, which borrows every records field left as it was.
// Threading: owned by one session, used on its worker's thread only.
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/address_rewriter.h"
#include "gateway/record_governor.h"
#include "gateway/request_authorizer.h"
#include "policies/decision.h"
#include "protocol/wire.h"

namespace kgw::policies {
class policy_set;
class principal_acl;
struct topic_policies;
}  // namespace kgw::policies

namespace kgw::gateway {

class topic_names;

// A rewritten response and the buffers it points into (new records fields); alive until written.
struct governed_response {
  protocol::writer w;
  std::deque<std::vector<std::byte>> buffers;
};

class session_policies {
 public:
  // origin: where decisions go (views, validation, fetch-time denials), and about whom.
  session_policies(policies::policy_set& set, const std::string& principal, topic_names& names,
                   policies::decision_origin origin);
  ~session_policies();

  request_authorizer& authorizer() { return *authorizer_; }
  bool acls_enabled() const;
  // Fetch responses must be decoded: ACLs are on, or some view exists.
  bool governs_fetch() const { return governs_fetch_; }

  // The principal's compiled policies for a topic (never null).
  const policies::topic_policies& topic(std::string_view name);

  // A Fetch response (body without size): ACL completion, views, node endpoints. rewritten: the
  // new body (header included) is in out.w.
  rewrite_status govern_fetch(const response_fixup* fixup, const response_context& ctx, protocol::bytes_view body,
                              address_rewriter& rewriter, governed_response& out, std::string& error);

  // Gives a written response's record buffers back for reuse: allocating and freeing ~1 MB per
  // Fetch response costs page faults on every response.
  void recycle(governed_response& g);

 private:
  std::optional<std::string> check_produce(std::string_view topic, protocol::bytes_view records);

  policies::policy_set& set_;
  std::string principal_;
  topic_names& names_;
  std::shared_ptr<const policies::principal_acl> acl_;
  policies::decision_origin origin_;
  record_governor governor_;
  std::unique_ptr<request_authorizer> authorizer_;
  bool governs_fetch_ = false;
  std::map<std::string, std::shared_ptr<const policies::topic_policies>, std::less<>> topics_;
  std::vector<std::vector<std::byte>> spare_;  // recycled record buffers
};

}  // namespace kgw::gateway

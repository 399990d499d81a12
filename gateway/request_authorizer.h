#pragma once
// Authorizes client requests against the principal's ACLs the way a broker does: per topic,
// partition, group, transactional id or cluster. Entries the principal may not touch are taken
// out of the request and put back into the response with Kafka's error (TOPIC_AUTHORIZATION_FAILED
// 29, GROUP_AUTHORIZATION_FAILED 30, CLUSTER_AUTHORIZATION_FAILED 31,
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED 53); the authorized entries still go through. A request
// with nothing left to forward is answered by the gateway. Lists are filtered (Metadata topics,
// ListGroups groups, OffsetFetch all-topics answers) so names the principal may not describe
// never reach it.
//
// Fetch v13+ and other topic-id requests: ids are mapped to names with topic_names (learnt from
// Metadata responses, or looked up on demand: action::lookup_topic_ids). Incremental fetch
// sessions can return partitions the current request does not list, so every Fetch response is
// checked again partition by partition (complete_fetch).
//
// With ACLs off (no acl configured) only the produce check runs (validation), Metadata v10+
// answers still teach topic_names their ids, and when views need names a Fetch v13+ naming
// unknown ids asks for their lookup; everything else is forwarded without being decoded.
//
// Per-API rules and answers live in authz_topics.cpp, authz_groups.cpp and authz_admin.cpp
// (shared helpers: authz_support.h). Where Kafka's broker differs from a naive reading, Kafka
// wins: AddPartitionsToTxn is all-or-nothing (denied topics 29, the rest 55), v4+ of it is for
// brokers (31); DescribeCluster is answered to everyone, only its authorized operations depend
// on the principal.
//
// Threading: one authorizer per session, used on the session's worker thread only.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/address_rewriter.h"
#include "gateway/request_inspector.h"
#include "protocol/wire.h"

namespace kgw::policies {
class principal_acl;
}
namespace kgw::protocol {
struct fetch_response;
}

namespace kgw::gateway {

class topic_names;

// What the response to a rewritten request needs: the entries removed from the request with
// their errors, and which lists to filter. Opaque to the session.
struct response_fixup;

struct authorization {
  enum class action {
    forward,            // the request as received
    forward_rewritten,  // `request` instead (entries removed)
    answer,             // nothing to forward: `response` is the answer
    drop,               // nothing to forward and no answer expected (acks=0 Produce, all denied)
    refuse,             // close the connection (`reason`): the gateway cannot authorize this API
    lookup_topic_ids,   // call again after looking up `unknown_topic_ids` (see topic_names)
  };
  action what = action::forward;
  protocol::writer request;         // forward_rewritten: body with header, no size prefix; may borrow
                                    // from the received frame (records), which outlives the write
  std::vector<std::byte> response;  // answer: body with header, no size prefix
  std::string reason;               // refuse: for the log
  std::vector<protocol::uuid> unknown_topic_ids;
  std::shared_ptr<const response_fixup> fixup;  // non-null: pass the response through complete()
};

// Produce-side check of one partition's records before they are forwarded (validation policy).
// nullopt: forward; otherwise the partition is answered with INVALID_RECORD (87) and this message.
using produce_check =
    std::function<std::optional<std::string>(std::string_view topic, std::int32_t partition, protocol::bytes_view records)>;

// The entries a fixup took out of a request with an error: fn(resource_type, name, error) once
// per topic (not per partition), group, transactional id or cluster. For the decision stream.
void for_each_denial(const response_fixup& fixup,
                     const std::function<void(std::string_view type, std::string_view name, std::int16_t error)>& fn);

class request_authorizer {
 public:
  // acl: the principal's compiled ACL (enabled() false = no ACLs). check: may be empty.
  // views_need_names: some view exists, so Fetch v13+ topic ids are looked up even with ACLs off.
  request_authorizer(const policies::principal_acl& acl, topic_names& names, produce_check check = {},
                     bool views_need_names = false);

  // body: the request frame without its size. ids_looked_up: this is the second call after a
  // lookup_topic_ids answer; ids still unknown are then answered UNKNOWN_TOPIC_ID (100).
  authorization authorize(const request_info& info, protocol::bytes_view body, bool ids_looked_up = false);

  // The response to a request whose authorization carried a fixup (not Fetch: see complete_fetch).
  // rewritten: `out` holds the complete new body (header included).
  rewrite_status complete(const response_fixup& fixup, const response_context& ctx, protocol::bytes_view body,
                          protocol::writer& out, std::string& error);

  // Fetch responses (decoded once by the session, which also transforms records): re-adds the
  // partitions removed from the request with their errors, and replaces every partition of a
  // topic the principal may not read (an incremental session can return such partitions) with
  // TOPIC_AUTHORIZATION_FAILED and no records. fixup may be null. Sets changed when it changed.
  // refused (if set) is told each topic whose partitions it replaced (a decision to report).
  void complete_fetch(const response_fixup* fixup, protocol::fetch_response& response, std::int16_t version,
                      bool& changed, const std::function<void(std::string_view topic)>& refused = {});

  // Whether the gateway can authorize this API key (every key it decodes requests of) or the
  // config lets it through; the others are refused when ACLs are on and trimmed from ApiVersions.
  static bool can_authorize(std::int16_t api_key);

 private:
  const policies::principal_acl& acl_;
  topic_names& names_;
  produce_check check_;
  bool views_need_names_;
};

}  // namespace kgw::gateway

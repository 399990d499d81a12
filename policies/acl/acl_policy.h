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
// Metadata responses, or looked up on demand: verdict lookup_topic_ids). Incremental fetch
// sessions can return partitions the current request does not list, so every Fetch response is
// checked again partition by partition (its response half).
//
// With ACLs off (no acl configured anywhere) the policy is not compiled at all.
//
// Each API's request half (authorize_*) and response half (complete_*) are joined in one table
// keyed by the API key (acl_policy.cpp); they live in topic_rules.cpp, group_rules.cpp and
// admin_rules.cpp (shared helpers: acl_rules.h). Where Kafka's broker differs from a naive reading, Kafka
// wins: AddPartitionsToTxn is all-or-nothing (denied topics 29, the rest 55), v4+ of it is for
// brokers (31); DescribeCluster is answered to everyone, only its authorized operations depend
// on the principal.
//
// Threading: compiled once per (generation, principal); immutable, shared by every worker.
#include <cstdint>
#include <memory>
#include <string_view>

#include "policies/policy.h"

namespace kgw::config {
struct policy_config;
}

namespace kgw::policies {

class principal_acl;
class policy_set;

// The ACL policy of one principal; null when no ACL is configured (every request is allowed).
std::shared_ptr<const policy> make_acl_policy(std::shared_ptr<const principal_acl> acl);
// Its registry line: the principal's ACL in this generation.
std::shared_ptr<const policy> compile_acl_policy(policy_set& snapshot, std::string_view principal);

// Whether the gateway can authorize this API key (every key whose requests it decodes and has a
// rule for). With ACLs on the others are refused unless pass_through_apis lists them, and
// ApiVersions does not offer them.
bool acl_can_authorize(std::int16_t api_key);
// ApiVersions with these policies: every key with ACLs off, else what can be authorized or is
// allowlisted.
bool acl_lists_api(const config::policy_config& policies, std::int16_t api_key);

}  // namespace kgw::policies

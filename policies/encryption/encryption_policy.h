#pragma once
// The encryption policy: records written to an encrypted topic are sealed before they reach the
// broker, whoever writes them; records fetched from one are opened for the principals the rule
// lets decrypt and otherwise delivered as tokens or masked (field_stages.h). Its fetch stage
// runs before the views, so filters and masks see the plaintext of principals who may see it.
//
// Produce: the request is decoded once (shared with validation, which runs first and sees the
// plaintext). A partition whose records cannot be sealed is refused with INVALID_RECORD and why
// (not JSON, no subject); the others go on. A scope with no data key ready makes the chain wait
// while the key manager makes and stores the keys (other connections go on), then seal; if that
// failed (KMS or key topic out of reach), the partition gets the retriable KAFKA_STORAGE_ERROR
// and the client sends it again. Nothing is ever forwarded in plaintext.
// Threading: compiled once per (generation, principal); immutable, shared by every worker.
#include <memory>
#include <string_view>

namespace kgw::policies {

class policy;
class policy_set;

// Null when the configuration encrypts no topic.
std::shared_ptr<const policy> compile_encryption_policy(policy_set& snapshot, std::string_view principal);

}  // namespace kgw::policies

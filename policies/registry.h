#pragma once
// The registry: one line per policy (registry.cpp), in chain order. A new policy is one folder
// under policies/ (its section of the policy documents with its reader, its code, its compile
// function) plus one line there. The gateway hands the readers to the configuration loader;
// policy_set compiles a principal's chain from these lines once per configuration generation.
// Threading: a constant table.
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace kgw::config {
struct policy_config;
struct section_reader;
}  // namespace kgw::config

namespace kgw::policies {

class policy;
class policy_set;

struct policy_kind {
  const config::section_reader& reader;  // reads its keys of the policy documents into its section
  // The principal's policy of this kind in this generation; null when nothing applies.
  std::shared_ptr<const policy> (*compile)(policy_set& snapshot, std::string_view principal);
  // ApiVersions: whether clients are offered this API key (null: every key).
  bool (*lists_api)(const config::policy_config& policies, std::int16_t api_key) = nullptr;
};

// Chain order: ACLs first (a denied entry is never validated nor viewed); views (Fetch,
// Metadata) and validation (Produce) govern different APIs, so their order between them is
// only the order their keys are read and listed in.
std::span<const policy_kind> registry();

// Every policy's section reader, in registry order: what config::load_file needs to read the
// policy documents (config::extensions::policy_sections).
std::span<const config::section_reader> section_readers();

}  // namespace kgw::policies

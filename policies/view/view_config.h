#pragma once
// The view policy's part of the policy documents: what a principal sees of a topic's records
// (row filter and field masks), and the key of `hash` masks, read from these keys
// (policies/view/view_config.cpp):
//
//   views:
//     - principals: [marketing]            # exactly one of: principals / teams / everyone: true
//       topics: [customers]
//       where: consent.marketing == true   # row filter (policies/row_filter/predicate.h)
//       mask:                              # masks: policies/masking/mask_config.h
//         - { field: email, function: partial, keep_domain: true }
//       on_invalid_json: drop              # or {replace_with: '{"invalid": true}'}
//   hash_key: {env: KGW_HASH_KEY}          # secret for `hash` masks (inline, file or env)
//
// Which views apply: those naming the principal; if none, those naming one of its teams; if
// none, those for everyone. All views of the chosen level combine: a record must match every
// `where`, and every mask applies (policies/policy_set.h, policies/view/topic_view.h).
// Threading: plain values, read-only after loading.
#include <string>
#include <vector>

#include "config/policy_config.h"
#include "policies/masking/mask_config.h"

namespace kgw::policies {

enum class invalid_json_action { drop, replace };

struct view_rule {
  config::subject who;
  std::vector<config::resource_pattern> topics;
  std::string where;  // predicate text; empty: every record. Checked when loaded.
  config::source_mark where_at;
  std::vector<mask_rule> masks;
  invalid_json_action on_invalid_json = invalid_json_action::drop;
  std::string invalid_json_replacement;  // replace: the value delivered instead
  config::source_mark at;
  bool operator==(const view_rule&) const = default;
};

struct view_section final : config::section_of<view_section> {
  std::vector<view_rule> views;
  std::string hash_key;         // secret for `hash` masks
  config::source_mark hash_key_at;  // where it was given (a second one names both places)

  bool empty() const override { return views.empty(); }
  std::string summary() const override;
  bool operator==(const view_section&) const = default;
};

extern const config::section_reader view_section_reader;

}  // namespace kgw::policies

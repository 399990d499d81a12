#pragma once
// The produce-validation policy's part of the policy documents, read from this key
// (policies/validation/validation_config.cpp):
//
//   validation:
//     - everyone: true                     # exactly one of: principals / teams / everyone: true
//       topics: [customers]
//       require_json: true
//       required_fields: [id, email]       # selectors, as for masks; implies require_json
//
// Which rules apply: by levels, as views (policies/view/view_config.h).
// Threading: plain values, read-only after loading.
#include <string>
#include <vector>

#include "config/policy_config.h"

namespace kgw::policies {

struct validation_rule {
  config::subject who;
  std::vector<config::resource_pattern> topics;
  bool require_json = false;
  std::vector<std::string> required_fields;  // selectors, as for masks; implies require_json
  config::source_mark at;
  bool operator==(const validation_rule&) const = default;
};

struct validation_section final : config::section_of<validation_section> {
  std::vector<validation_rule> rules;

  bool empty() const override { return rules.empty(); }
  std::string summary() const override;
  bool operator==(const validation_section&) const = default;
};

extern const config::section_reader validation_section_reader;

}  // namespace kgw::policies

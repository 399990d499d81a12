// The validation policy's section reader: see policies/validation/validation_config.h.
#include "policies/validation/validation_config.h"

#include <yaml-cpp/yaml.h>

#include "policies/policy_reader.h"

namespace kgw::policies {
namespace {

class validation_reader : public policy_reader {
 public:
  using policy_reader::policy_reader;

  void read(std::string_view, const YAML::Node& value, validation_section& into) const {
    for (const auto& e : sequence(value, "validation")) entry(e, into);
  }

  void entry(const YAML::Node& e, validation_section& into) const {
    require_map(e, "a validation entry");
    only_keys(e, "a validation entry", {"principals", "teams", "everyone", "topics", "require_json", "required_fields"});
    validation_rule v;
    topic_rule(e, "a validation entry", "validation", v.who, v.at, v.topics);
    if (auto n = e["require_json"]) v.require_json = boolean(n, "require_json");
    if (auto n = e["required_fields"]) {
      for (const auto& f : items(n, "required_fields")) v.required_fields.push_back(selector(f, "required field"));
      if (auto rj = e["require_json"]; rj && !v.require_json)
        fail(rj, "require_json: false contradicts required_fields (fields can only be checked in JSON)");
      v.require_json = true;
    }
    into.rules.push_back(std::move(v));
  }
};

constexpr const char* section_keys[] = {"validation"};

}  // namespace

const config::section_reader validation_section_reader{section_keys, validation_section::make,
                                                          read_section<validation_reader, validation_section>};

std::string validation_section::summary() const {
  return std::to_string(rules.size()) + (rules.size() == 1 ? " validation rule" : " validation rules");
}

}  // namespace kgw::policies

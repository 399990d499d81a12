// Produce validation: require_json and required_fields of every applicable rule, combined.
// A required field must be present and not null. With [*] every element must have it (an
// empty array passes); `items[0].sku` needs element 0 to exist. A null value (tombstone) is
// not JSON, so it fails whenever JSON is required.
#include "policies/validation/record_validator.h"

#include <algorithm>

#include "policies/json/json_doc.h"
#include "policies/json/selector.h"

namespace kgw::policies {

namespace {

// Every path the selector describes from node exists and ends in a non-null value.
bool present(const json::json_doc& doc, const json::selector& sel, std::size_t step, std::uint32_t node) {
  if (step == sel.steps.size()) return doc.type(node) != json::json_type::null;
  const json::selector_step& s = sel.steps[step];
  switch (s.what) {
    case json::selector_step::kind::name: {
      std::uint32_t m = doc.find_member(node, s.name);  // the last duplicate: what consumers read
      return m != json::npos && present(doc, sel, step + 1, m);
    }
    case json::selector_step::kind::index: {
      std::uint32_t e = doc.element(node, s.index);
      return e != json::npos && present(doc, sel, step + 1, e);
    }
    case json::selector_step::kind::any: {
      json::json_type t = doc.type(node);
      if (t != json::json_type::array && t != json::json_type::object) return false;
      for (std::uint32_t c = doc.first_child(node); c != json::npos; c = doc.node(c).next)
        if (!present(doc, sel, step + 1, c)) return false;
      return true;
    }
  }
  return false;
}

json::json_doc& scratch_doc() {
  thread_local json::json_doc doc;
  return doc;
}

class compiled_validator final : public record_validator {
 public:
  bool require_json = false;
  std::vector<json::selector> required;

  std::expected<void, std::string> check(const record_in& in) const override {
    if (!require_json) return {};
    if (!in.value) return std::unexpected(std::string("value is null; a JSON value is required"));
    json::json_doc& doc = scratch_doc();
    if (!doc.parse(*in.value)) return std::unexpected(std::string("value is not valid JSON"));
    for (const auto& sel : required)
      if (!present(doc, sel, 0, json::json_doc::root()))
        return std::unexpected("missing required field '" + sel.text + "'");
    return {};
  }

  std::vector<std::string> describe() const override {
    std::vector<std::string> lines;
    if (!require_json) return lines;
    lines.push_back("produce: the value must be JSON");
    for (const auto& sel : required) lines.push_back("produce: field " + sel.text + " is required (present, not null)");
    return lines;
  }
};

}  // namespace

std::expected<std::shared_ptr<const record_validator>, std::string> record_validator::compile(
    const std::vector<const validation_rule*>& rules) {
  auto v = std::make_shared<compiled_validator>();
  for (const validation_rule* rule : rules) {
    v->require_json = v->require_json || rule->require_json || !rule->required_fields.empty();
    for (const std::string& field : rule->required_fields) {
      auto sel = json::parse_selector(field);
      if (!sel) {
        std::string msg = "required field '" + field + "': " + sel.error().message + " (at offset " +
                          std::to_string(sel.error().offset) + ")";
        return std::unexpected(rule->at.line > 0 ? rule->at.str() + ": " + msg : msg);
      }
      bool dup = std::any_of(v->required.begin(), v->required.end(),
                             [&](const json::selector& s) { return s.text == sel->text; });
      if (!dup) v->required.push_back(std::move(*sel));
    }
  }
  return v;
}

}  // namespace kgw::policies

#pragma once
// The reads every policy's section reader shares, on top of config/yaml_reader.h: who a rule
// attaches to, resource name patterns, field selectors and row-filter predicates checked where
// they are written (a mistake inside a predicate points at its character, when the scalar maps
// back to the source exactly: one-line plain or quoted scalars, literal `|` blocks).
// Threading: one reader per document, on one thread.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy_config.h"
#include "config/yaml_reader.h"

namespace kgw::policies {

struct syntax_error;

class policy_reader : public config::yaml_reader {
 public:
  explicit policy_reader(const config::policy_document& doc) : yaml_reader(doc.source, doc.text, "string") {}

  const YAML::Node& sequence(const YAML::Node& n, const std::string& what) const;  // a list, or an error
  // A list, or one scalar standing for a list of one; never empty.
  std::vector<YAML::Node> items(const YAML::Node& n, const std::string& what) const;
  // principals: [..] | teams: [..] | everyone: true, exactly one, among `rule`'s keys.
  config::subject who(const YAML::Node& rule, const std::string& what) const;
  // What every per-topic rule starts with: who (as who()), where it was written, and its
  // `topics`, which it must have. entry: "a views entry", for messages.
  void topic_rule(const YAML::Node& rule, const std::string& entry, const std::string& what, config::subject& who,
                  config::source_mark& at, std::vector<config::resource_pattern>& topics) const;
  // Names or patterns: NAME, {prefix: TEXT}, {glob: PATTERN}, or a list of them. topic_names:
  // a literal with '*' or '?' cannot be a topic name, so it is a pattern missing its braces.
  std::vector<config::resource_pattern> patterns(const YAML::Node& n, const std::string& what, bool topic_names) const;
  std::string selector(const YAML::Node& n, const std::string& what) const;   // a field selector, checked
  std::string predicate(const YAML::Node& n, const std::string& what) const;  // a row filter, checked
  // `function: null` unquoted is YAML's null, not the string "null": true when the source
  // really says null there (an empty value is also a null node, and not this).
  bool written_null(const YAML::Node& n) const;

 private:
  std::optional<config::source_mark> position_in_scalar(const YAML::Node& n, std::size_t offset) const;
  [[noreturn]] void fail_inside(const YAML::Node& n, const std::string& what, const syntax_error& e) const;
  config::resource_pattern pattern(const YAML::Node& n, const std::string& what, bool topic_names) const;
};

// The read function of a section_reader whose reader class R (a policy_reader) reads section S:
// R(doc).read(key, value, section).
template <class R, class S>
void read_section(const config::policy_document& doc, std::string_view key, const YAML::Node& value,
                  config::policy_section& into) {
  R(doc).read(key, value, static_cast<S&>(into));
}

}  // namespace kgw::policies

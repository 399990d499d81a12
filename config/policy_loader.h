#pragma once
// Parses policy documents (the YAML shape in config/policy_config.h) into one policy_config.
// Documents merge in the order they are added: rule lists append, pass_through_apis add up,
// hash_key may be given once. Strict like config/loader.h: unknown keys, wrong types, unknown
// operations and predicates or selectors that do not parse are errors "file:line:col: message".
// Threading: one loader per load, on one thread.
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy_config.h"

namespace YAML {
class Node;
}

namespace kgw::config {

class policy_loader {
 public:
  // Each returns an error message, or nullopt when the document was merged.
  // text: the document's source text (for exact predicate/selector columns); source: its file
  // name, which relative `{file: ...}` secrets resolve against.
  std::optional<std::string> add_string(std::string_view text, const std::string& source);
  std::optional<std::string> add_file(const std::string& path);  // one or more YAML documents
  // An already parsed document: `policies:` inline in the gateway config (text: that file's text).
  std::optional<std::string> add_node(const YAML::Node& doc, const std::string& source, std::string_view text);

  // Whole-config checks after the last document (a `hash` mask needs a hash_key, given in any
  // document), then the merged result.
  std::optional<std::string> finish();
  policy_config& result() { return cfg_; }

 private:
  policy_config cfg_;
  source_mark hash_key_at_;  // where hash_key was given, to name both places when it is given twice
};

// The policy files a `policies:` entry names: the file itself, or every *.yaml / *.yml of a
// directory (sorted by name, not recursive). The error says what is wrong with the path; the
// caller adds where the path was written.
std::expected<std::vector<std::string>, std::string> policy_files(const std::string& path);

}  // namespace kgw::config

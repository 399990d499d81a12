#pragma once
// The policy documents as loaded (config/policy_loader): the files they came from and one section
// per policy kind, plus the vocabulary every policy's rules share (who a rule attaches to,
// resource name patterns, where a rule was written).
//
// A policy document is a YAML mapping, inline under `policies:` in the gateway config or in the
// files and directories `policies:` names; every document has the same shape. Its keys belong
// to the policies: each policy folder under policies/ reads its own keys into its own section
// (a config::section_reader, listed by policies/registry.cpp), and its header documents them:
//   acls, pass_through_apis      policies/acl/acl_config.h
//   views, hash_key              policies/view/view_config.h (masks: policies/masking/mask_config.h)
//   validation                   policies/validation/validation_config.h
//   encryption                   policies/encryption/encryption_config.h
//   quotas                       policies/quota/quota_config.h
// config/ knows no section: the gateway passes the readers to the loader (config/loader.h).
// Threading: plain values, read-only after loading; sections are shared between copies
// (edit() copies one before changing it).
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace kgw::config {

// Where a rule was written, for messages and `explain`.
struct source_mark {
  std::string file;
  int line = 0, column = 0;  // 1-based
  std::string str() const { return file + ":" + std::to_string(line) + ":" + std::to_string(column); }
  bool operator==(const source_mark&) const = default;
};

enum class pattern_type { literal, prefix, glob };  // glob: '*' any run, '?' one character

struct resource_pattern {
  pattern_type type = pattern_type::literal;
  std::string text;
  bool matches(std::string_view name) const;  // defined in config/policy_config.cpp
  std::string str() const;                    // "customers", "prefix mkt-", "glob cust*"
  bool operator==(const resource_pattern&) const = default;
};

// Who a rule attaches to.
struct subject {
  enum class kind { principals, teams, everyone };
  kind what = kind::everyone;
  std::vector<std::string> names;  // principal names (without "User:") or team names
  bool operator==(const subject&) const = default;
};

// One policy kind's part of the merged documents (its rules and settings). Each policy folder
// derives its own from section_of; its compile function reads it back with
// policy_config::section<S>().
class policy_section {
 public:
  virtual ~policy_section() = default;
  virtual bool empty() const = 0;           // nothing configured: the policy is off
  virtual std::string summary() const = 0;  // "5 ACL rules", for the log at start-up and reload
  // By value: a reload of files that say the same is "unchanged" (no new generation).
  virtual bool equals(const policy_section& other) const = 0;
};

// The base of section S, which defaults its operator== (so a member added later is compared
// too): equals() is S's ==.
template <class S>
class section_of : public policy_section {
 public:
  static std::shared_ptr<policy_section> make() { return std::make_shared<S>(); }  // section_reader::make
  bool equals(const policy_section& other) const final {
    const auto* o = dynamic_cast<const S*>(&other);
    return o && static_cast<const S&>(*this) == *o;
  }
  bool operator==(const section_of&) const { return true; }  // no state of its own
};

// The document a section reader is reading: its file name (messages; what relative `{file: ...}`
// secrets resolve against) and its whole source text (positions inside scalars).
struct policy_document {
  const std::string& source;
  std::string_view text;
};

// How one policy kind reads its keys of the policy documents (one per registry line).
struct section_reader {
  // The document keys it reads: keys[0] is its section ("acls"), the rest its settings
  // ("pass_through_apis"). Documents are read section keys first, then settings, in reader order.
  std::span<const char* const> keys;
  std::shared_ptr<policy_section> (*make)();  // an empty section, merged into document by document
  // Reads `value`, written under document key `key`, into `into` (made by make()). A mistake
  // throws config::yaml_failure "file:line:col: message" (config/yaml_reader.h's fail()).
  void (*read)(const policy_document& doc, std::string_view key, const YAML::Node& value, policy_section& into);
  // Checks across documents after the last one ("a hash mask needs a hash_key"): an error
  // "file:line:col: message". Null: none.
  std::expected<void, std::string> (*finish)(const policy_section& section) = nullptr;
};

struct policy_config {
  std::vector<std::shared_ptr<policy_section>> sections;  // one per reader, in reader order
  std::vector<std::string> files;                         // the policy files loaded, in order
  std::vector<std::string> paths;                         // the files and directories `policies:` names

  // The section of type S; an empty one when no reader of S was given to the loader.
  template <class S>
  std::shared_ptr<const S> section() const {
    for (const auto& s : sections)
      if (auto p = std::dynamic_pointer_cast<const S>(s)) return p;
    static const auto none = std::make_shared<const S>();
    return none;
  }
  // The section of type S to change, for configurations built in code (tests, tools); a
  // section shared with a copy of this configuration is copied first.
  template <class S>
  S& edit() {
    for (auto& s : sections)
      if (auto* p = dynamic_cast<S*>(s.get())) {
        if (s.use_count() > 1) s = std::make_shared<S>(*p);
        return static_cast<S&>(*s);
      }
    sections.push_back(std::make_shared<S>());
    return static_cast<S&>(*sections.back());
  }
  bool empty() const {
    for (const auto& s : sections)
      if (!s->empty()) return false;
    return true;
  }
  bool operator==(const policy_config& o) const {
    if (files != o.files || paths != o.paths || sections.size() != o.sections.size()) return false;
    for (std::size_t i = 0; i < sections.size(); ++i)
      if (!sections[i]->equals(*o.sections[i])) return false;
    return true;
  }
};

}  // namespace kgw::config

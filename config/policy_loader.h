#pragma once
// Reads policy documents (config/policy_config.h) into one policy_config, each key by the policy
// that owns it (its section_reader). Documents merge in the order they are added: each section
// reader merges its own keys (rule lists append; a setting may be given once). Strict like
// config/loader.h: unknown keys, wrong types and whatever a section reader rejects are errors
// "file:line:col: message".
// Threading: one loader per load, on one thread.
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy_config.h"

namespace kgw::config {

class policy_loader {
 public:
  // readers: the policies' section readers (policies::section_readers()); a document key no
  // reader owns is an error.
  explicit policy_loader(std::span<const section_reader> readers);

  // text: the document's source text (for exact predicate/selector columns); source: its file
  // name, which relative `{file: ...}` secrets resolve against.
  std::expected<void, std::string> add_string(std::string_view text, const std::string& source);
  std::expected<void, std::string> add_file(const std::string& path);  // one or more YAML documents
  // An already parsed document: `policies:` inline in the gateway config (text: that file's text).
  std::expected<void, std::string> add_node(const YAML::Node& doc, const std::string& source, std::string_view text);

  // Checks across documents after the last one (each reader's finish), then the merged result.
  std::expected<void, std::string> finish();
  policy_config& result() { return cfg_; }

 private:
  std::span<const section_reader> readers_;
  std::vector<const char*> keys_;         // every document key, in reading order
  std::vector<std::size_t> reader_of_;    // keys_[i] is read by readers_[reader_of_[i]]
  policy_config cfg_;
};

// The policy files a `policies:` entry names: the file itself, or every *.yaml / *.yml of a
// directory (sorted by name, not recursive). The error says what is wrong with the path; the
// caller adds where the path was written.
std::expected<std::vector<std::string>, std::string> policy_files(const std::string& path);

}  // namespace kgw::config

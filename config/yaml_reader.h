#pragma once
// The strict YAML reading every configuration reader shares: config/loader.cpp (the gateway
// file), config/policy_loader.cpp (policy documents) and each policy's section reader
// (policies/<folder>/*_config.cpp, through policies/policy_reader.h). Typed reads of scalars, lists,
// integers, booleans and secrets; anything else is "file:line:col: message" at the offending
// node (yaml-cpp marks are 0-based; editors count from 1), thrown as yaml_failure and turned
// into an error value where the loader is entered.
// Threading: one reader per load, on one thread.
#include <initializer_list>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/policy_config.h"  // source_mark

namespace YAML {
class Node;
class Exception;
}  // namespace YAML

namespace kgw::config {

// What yaml_reader::fail throws; the loaders catch it at their entry points.
struct yaml_failure {
  std::string message;
};

// A yaml-cpp syntax error as "file:line:col: message".
std::string syntax_error_message(const std::string& source, const YAML::Exception& e);

// The documents of a YAML stream, read strictly (yaml-cpp alone is lenient in ways that lose
// configuration without a word). Before anything is used:
// - the text must be UTF-8 of YAML's printable characters (no invalid bytes, no control
//   characters but tab and line ends), and every string, after its escapes, valid UTF-8
//   without control characters but tab and line ends;
// - a mapping may not name a key twice (yaml-cpp would keep the first and drop the second);
// - a token that cannot start a document (a lone ',') is an error, where yaml-cpp 0.7's LoadAll
//   would yield empty documents forever without consuming it;
// - with single_document, a second document is an error (yaml-cpp's Load drops it).
// Throws yaml_failure "source:line:col: message" at the offending place.
std::vector<YAML::Node> load_yaml_documents(std::string_view text, const std::string& source, bool single_document);

// One name of an enumeration as written in YAML, for lookup().
template <class E>
struct named {
  std::string_view name;
  E value;
};

// The value `name` stands for in `table`; nullopt when it names none (the caller words the
// error: its message lists the choices its own way).
template <class E>
std::optional<E> lookup(std::string_view name, std::initializer_list<named<E>> table) {
  for (const auto& x : table)
    if (x.name == name) return x.value;
  return std::nullopt;
}

class yaml_reader {
 public:
  // How secret() reads one secret.
  struct secret_rules {
    bool bare_is_path = false;        // a bare scalar names a file (certificates, keys, JWKS), else it is the value
    bool names_nonempty = false;      // an empty PATH or VARIABLE is an error of its own
    bool trim_file_line_end = false;  // a file's final line ends are not part of the secret
  };

  // source: the file name in messages, and what relative file paths resolve against;
  // text: the whole source text, for positions inside scalars;
  // scalar_kind: "X must be a <scalar_kind>" for a node that is not a scalar ("scalar" in the
  // gateway config, "string" in policy documents: each file's messages are pinned by tests).
  yaml_reader(std::string source, std::string_view text, const char* scalar_kind)
      : source_(std::move(source)), text_(text), scalar_kind_(scalar_kind) {}

  const std::string& source() const { return source_; }
  std::string_view text() const { return text_; }

  source_mark mark_of(const YAML::Node& n) const;
  [[noreturn]] void fail_at(const source_mark& at, const std::string& msg) const;
  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const;

  void require_map(const YAML::Node& n, const std::string& what) const;
  // Rejects keys that are not in `allowed`: a typo must not silently become a default.
  void only_keys(const YAML::Node& n, const std::string& what, std::span<const char* const> allowed) const;
  void only_keys(const YAML::Node& n, const std::string& what, std::initializer_list<const char*> allowed) const {
    only_keys(n, what, std::span<const char* const>(allowed.begin(), allowed.size()));
  }

  std::string scalar(const YAML::Node& n, const std::string& what) const;
  std::string nonempty(const YAML::Node& n, const std::string& what) const;
  bool boolean(const YAML::Node& n, const std::string& what) const;
  long long integer(const YAML::Node& n, const std::string& what, long long lo, long long hi) const;
  // "100MiB", "64KiB", "1GiB", "512B" or a plain number of bytes.
  std::size_t size_bytes(const YAML::Node& n, const std::string& what) const;
  // "30s", "500ms", "10m", "24h", "7d", or a plain number of milliseconds.
  std::chrono::milliseconds duration(const YAML::Node& n, const std::string& what) const;
  // A list, or one scalar standing for a list of one (possibly empty).
  std::vector<YAML::Node> list(const YAML::Node& n, const std::string& what) const;
  std::vector<std::string> string_list(const YAML::Node& n, const std::string& what) const;

  // `path` relative to the source file's directory.
  std::string read_file(const YAML::Node& n, const std::string& what, const std::string& path) const;
  // Secret material: inline, `{file: PATH}` (relative to the source file), `{env: VARIABLE}` or
  // `{value: TEXT}`. Contents are never put in messages.
  std::string secret(const YAML::Node& n, const std::string& what, secret_rules rules) const;

 private:
  std::string source_;
  std::string_view text_;
  const char* scalar_kind_;
};

}  // namespace kgw::config

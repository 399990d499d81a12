// Strict YAML reads shared by the gateway config and policy loaders: see config/yaml_reader.h.
#include "config/yaml_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kgw::config {

std::string syntax_error_message(const std::string& source, const YAML::Exception& e) {
  std::ostringstream os;
  os << source << ':' << (e.mark.line + 1) << ':' << (e.mark.column + 1) << ": " << e.msg;
  return os.str();
}

std::optional<std::string> file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

source_mark yaml_reader::mark_of(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {source_, 1, 1};  // a node built in code has no position
  return {source_, m.line + 1, m.column + 1};
}

void yaml_reader::fail_at(const source_mark& at, const std::string& msg) const {
  throw yaml_failure{at.str() + ": " + msg};
}

void yaml_reader::fail(const YAML::Node& n, const std::string& msg) const { fail_at(mark_of(n), msg); }

void yaml_reader::require_map(const YAML::Node& n, const std::string& what) const {
  if (!n.IsMap()) fail(n, what + " must be a mapping");
}

void yaml_reader::only_keys(const YAML::Node& n, const std::string& what, std::span<const char* const> allowed) const {
  for (const auto& kv : n) {
    const std::string key = scalar(kv.first, "a key in " + what);
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
    }
  }
}

std::string yaml_reader::scalar(const YAML::Node& n, const std::string& what) const {
  if (!n.IsScalar()) fail(n, what + " must be a " + scalar_kind_);
  return n.Scalar();
}

std::string yaml_reader::nonempty(const YAML::Node& n, const std::string& what) const {
  std::string s = scalar(n, what);
  if (s.empty()) fail(n, what + " must not be empty");
  return s;
}

bool yaml_reader::boolean(const YAML::Node& n, const std::string& what) const {
  const std::string s = scalar(n, what);
  if (s == "true") return true;
  if (s == "false") return false;
  fail(n, what + " must be true or false, got '" + s + "'");
}

long long yaml_reader::integer(const YAML::Node& n, const std::string& what, long long lo, long long hi) const {
  const std::string s = scalar(n, what);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) fail(n, what + " must be an integer, got '" + s + "'");
  if (v < lo || v > hi)
    fail(n, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + s);
  return v;
}

std::vector<YAML::Node> yaml_reader::list(const YAML::Node& n, const std::string& what) const {
  std::vector<YAML::Node> out;
  if (n.IsScalar()) {
    out.push_back(n);
  } else if (n.IsSequence()) {
    for (const auto& e : n) out.push_back(e);
  } else {
    fail(n, what + " must be a list");
  }
  return out;
}

std::vector<std::string> yaml_reader::string_list(const YAML::Node& n, const std::string& what) const {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  for (const auto& e : list(n, what)) out.push_back(scalar(e, what + " entry"));
  return out;
}

std::string yaml_reader::read_file(const YAML::Node& n, const std::string& what, const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(source_).parent_path() / p;  // relative to the file naming it
  auto contents = file_contents(p.string());
  if (!contents) fail(n, what + ": cannot read file '" + p.string() + "'");
  return std::move(*contents);
}

std::string yaml_reader::secret(const YAML::Node& n, const std::string& what, secret_rules rules) const {
  if (n.IsScalar()) return rules.bare_is_path ? read_file(n, what, n.Scalar()) : n.Scalar();
  if (!n.IsMap() || n.size() != 1)
    fail(n, what + " must be " + (rules.bare_is_path ? "a file path" : "a value") +
                " or one of {file: PATH}, {env: VARIABLE}, {value: TEXT}");
  only_keys(n, what, {"file", "env", "value"});
  auto name = [&](const YAML::Node& x, const std::string& x_what) {
    return rules.names_nonempty ? nonempty(x, x_what) : scalar(x, x_what);
  };
  if (auto f = n["file"]) {
    std::string text = read_file(f, what, name(f, what + ".file"));
    if (rules.trim_file_line_end)
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }
  if (auto v = n["value"]) return scalar(v, what + ".value");
  const auto e = n["env"];
  const std::string var = name(e, what + ".env");
  const char* val = std::getenv(var.c_str());
  if (!val) fail(e, what + ": environment variable " + var + " is not set");
  return val;
}

}  // namespace kgw::config

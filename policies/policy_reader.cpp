// Shared reads of policy sections: see policies/policy_reader.h.
#include "policies/policy_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "policies/row_filter/predicate_syntax.h"

namespace kgw::policies {

using config::pattern_type;
using config::resource_pattern;
using config::source_mark;
using config::subject;

const YAML::Node& policy_reader::sequence(const YAML::Node& n, const std::string& what) const {
  if (!n.IsSequence()) fail(n, "'" + what + "' must be a list");
  return n;
}

std::vector<YAML::Node> policy_reader::items(const YAML::Node& n, const std::string& what) const {
  auto out = list(n, what);
  if (out.empty()) fail(n, what + " must not be empty");
  return out;
}

// Where character `offset` of scalar `n` is in the source, when the scalar maps back to the
// text exactly; nullopt otherwise (folded or multi-line flow scalars, escapes).
std::optional<source_mark> policy_reader::position_in_scalar(const YAML::Node& n, std::size_t offset) const {
  const YAML::Mark m = n.Mark();
  const std::string_view doc = text();
  const std::string& s = n.Scalar();
  if (m.pos < 0 || static_cast<std::size_t>(m.pos) >= doc.size() || offset > s.size()) return std::nullopt;
  const auto pos = static_cast<std::size_t>(m.pos);
  const char first = doc[pos];
  if (s.find('\n') == std::string::npos && first != '|' && first != '>') {
    const std::size_t quote = (first == '"' || first == '\'') ? 1 : 0;
    if (doc.substr(pos + quote, s.size()) != s) return std::nullopt;
    return source_mark{source(), m.line + 1, m.column + 1 + static_cast<int>(quote + offset)};
  }
  if (first != '|') return std::nullopt;
  // A literal block keeps its lines: content line i is source line (indicator line + 1 + i),
  // indented by the block's indentation (that of its first non-blank line).
  std::vector<std::string_view> src_lines;
  std::size_t at = doc.find('\n', pos);
  while (at != std::string::npos && at + 1 <= doc.size()) {
    const std::size_t end = doc.find('\n', at + 1);
    src_lines.push_back(doc.substr(at + 1, (end == std::string::npos ? doc.size() : end) - at - 1));
    at = end;
  }
  std::size_t indent = std::string::npos;
  for (auto l : src_lines) {
    const auto nb = l.find_first_not_of(' ');
    if (nb != std::string::npos) {
      indent = nb;
      break;
    }
  }
  if (indent == std::string::npos) return std::nullopt;
  const std::size_t line_index = static_cast<std::size_t>(std::count(s.begin(), s.begin() + offset, '\n'));
  const std::size_t line_start = s.rfind('\n', offset == 0 ? 0 : offset - 1);
  const std::size_t start = (offset == 0 || line_start == std::string::npos) ? 0 : line_start + 1;
  const std::size_t line_end = s.find('\n', start);
  const std::string_view content = std::string_view(s).substr(start, (line_end == std::string::npos ? s.size() : line_end) - start);
  if (line_index >= src_lines.size()) return std::nullopt;
  const std::string_view src = src_lines[line_index];
  if (!content.empty() && (src.size() < indent || src.substr(indent, content.size()) != content)) return std::nullopt;
  return source_mark{source(), m.line + 2 + static_cast<int>(line_index), static_cast<int>(indent + offset - start) + 1};
}

void policy_reader::fail_inside(const YAML::Node& n, const std::string& what, const syntax_error& e) const {
  if (auto at = position_in_scalar(n, e.offset)) fail_at(*at, what + ": " + e.message);
  fail(n, what + ": " + e.message + " (at character " + std::to_string(e.offset + 1) + ")");
}

std::string policy_reader::selector(const YAML::Node& n, const std::string& what) const {
  std::string s = nonempty(n, what);
  if (auto ok = check_selector(s); !ok) fail_inside(n, what + " '" + s + "'", ok.error());
  return s;
}

std::string policy_reader::predicate(const YAML::Node& n, const std::string& what) const {
  std::string s = nonempty(n, what);
  if (auto ok = check_predicate(s); !ok) fail_inside(n, what, ok.error());
  return s;
}

subject policy_reader::who(const YAML::Node& rule, const std::string& what) const {
  std::string found_key;
  for (const auto& kv : rule) {
    const std::string key = kv.first.Scalar();
    if (key != "principals" && key != "teams" && key != "everyone") continue;
    if (!found_key.empty())
      fail(kv.first, what + " names '" + found_key + "' and '" + key +
                         "': give exactly one of 'principals', 'teams' or 'everyone: true'");
    found_key = key;
  }
  if (found_key.empty()) fail(rule, what + " needs one of 'principals', 'teams' or 'everyone: true'");
  subject out;
  const YAML::Node n = rule[found_key];
  if (found_key == "everyone") {
    if (!boolean(n, what + " everyone")) fail(n, what + ": 'everyone' can only be true (or name principals or teams)");
    out.what = subject::kind::everyone;
    return out;
  }
  out.what = found_key == "principals" ? subject::kind::principals : subject::kind::teams;
  for (const auto& e : items(n, what + " " + found_key)) {
    std::string name = nonempty(e, what + " " + found_key + " entry");
    // Kafka writes principals as "User:name"; the gateway's principal names have no type.
    if (out.what == subject::kind::principals && name.starts_with("User:")) name.erase(0, 5);
    if (name.empty()) fail(e, what + " principals entry must name a principal");
    out.names.push_back(std::move(name));
  }
  return out;
}

void policy_reader::topic_rule(const YAML::Node& rule, const std::string& entry, const std::string& what,
                               subject& who_out, source_mark& at, std::vector<resource_pattern>& topics) const {
  who_out = who(rule, what);
  at = mark_of(rule);
  const auto t = rule["topics"];
  if (!t) fail(rule, entry + " needs 'topics'");
  topics = patterns(t, "topics", true);
}

resource_pattern policy_reader::pattern(const YAML::Node& n, const std::string& what, bool topic_names) const {
  resource_pattern p;
  if (n.IsScalar()) {
    p.text = nonempty(n, what);
    // Topic names cannot contain '*' or '?' (legal: letters, digits, '.', '_', '-'), so a
    // literal with them is a pattern written without its braces.
    if (topic_names && p.text != "*" && p.text.find_first_of("*?") != std::string::npos)
      fail(n, what + " '" + p.text + "' is a literal topic name; for a pattern write {glob: \"" + p.text + "\"}");
    return p;
  }
  if (!n.IsMap() || n.size() != 1)
    fail(n, what + " must be a name, {prefix: TEXT} or {glob: PATTERN}");
  only_keys(n, what, {"prefix", "glob"});
  const auto kv = *n.begin();
  p.type = kv.first.Scalar() == "prefix" ? pattern_type::prefix : pattern_type::glob;
  p.text = nonempty(kv.second, what + " " + kv.first.Scalar());
  return p;
}

std::vector<resource_pattern> policy_reader::patterns(const YAML::Node& n, const std::string& what,
                                                     bool topic_names) const {
  std::vector<resource_pattern> out;
  if (n.IsMap()) {
    out.push_back(pattern(n, what + " entry", topic_names));
    return out;
  }
  for (const auto& e : items(n, what)) out.push_back(pattern(e, what + " entry", topic_names));
  return out;
}

bool policy_reader::written_null(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  if (m.pos < 0 || text().empty()) return true;
  const std::string_view at = text().substr(static_cast<std::size_t>(m.pos));
  for (std::string_view w : {"null", "Null", "NULL"})
    if (at.starts_with(w) && (at.size() == w.size() || !std::isalnum(static_cast<unsigned char>(at[w.size()])) )) return true;
  return false;
}

}  // namespace kgw::policies

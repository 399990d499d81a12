#include "gateway/security/principal_mapping.h"

#include <spdlog/fmt/fmt.h>

#include <regex>
#include <string_view>
#include <utility>

namespace kgw::security {
namespace {

enum class case_change { none, lower, upper };

// Replacement text is split at parse time so map() only copies: literal text, or a group.
struct replacement_piece {
  std::string literal;
  int group = -1;  // >= 0: insert this group instead of `literal`
};

struct mapping_rule {
  bool is_default = false;
  std::string san_type;  // empty: the rule reads the subject DN
  std::regex pattern;
  std::vector<replacement_piece> replacement;
  case_change change = case_change::none;
};

constexpr std::string_view usage =
    "expected DEFAULT, RULE:<regex>/<replacement>/[L|U] or SAN:<DNS|URI|EMAIL|IP>:<regex>/<replacement>/[L|U]";

std::string_view trim(std::string_view s) {
  constexpr std::string_view blanks = " \t\r\n";
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Reads up to the next '/' not preceded by a backslash; backslash pairs stay in the returned
// text (the regex and the replacement give them different meanings). Advances `pos` past '/'.
std::optional<std::string_view> take_part(std::string_view body, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < body.size()) {
    if (body[pos] == '\\') {
      pos += 2;
      continue;
    }
    if (body[pos] == '/') return body.substr(start, pos++ - start);
    ++pos;
  }
  return std::nullopt;
}

// "\/" only exists so a '/' can sit inside a rule; ECMAScript does not need it escaped.
std::string regex_source(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      if (raw[i + 1] != '/') out += '\\';
      ++i;
    }
    out += raw[i];
  }
  return out;
}

std::expected<std::vector<replacement_piece>, std::string> parse_replacement(std::string_view raw, unsigned groups) {
  std::vector<replacement_piece> pieces;
  const auto add_char = [&](char c) {
    if (pieces.empty() || pieces.back().group >= 0) pieces.emplace_back();
    pieces.back().literal += c;
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\') {
      // take_part() only returns complete pairs, so a lone trailing backslash cannot reach here.
      add_char(raw[++i]);
      continue;
    }
    if (c != '$') {
      add_char(c);
      continue;
    }
    if (i + 1 < raw.size() && raw[i + 1] == '$') {
      add_char('$');
      ++i;
      continue;
    }
    if (i + 1 >= raw.size() || raw[i + 1] < '0' || raw[i + 1] > '9') {
      return std::unexpected(
          fmt::format("replacement has a '$' at offset {} not followed by a group number "
                      "(write \\$ or $$ for a literal '$')",
                      i));
    }
    // Java's Matcher.appendReplacement: the first digit always counts, further digits only
    // while the number still names an existing group.
    unsigned group = static_cast<unsigned>(raw[++i] - '0');
    if (group > groups) {
      return std::unexpected(fmt::format("replacement refers to group ${} but the regex has {} group{}", group, groups,
                                         groups == 1 ? "" : "s"));
    }
    while (i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '9') {
      const unsigned longer = group * 10 + static_cast<unsigned>(raw[i + 1] - '0');
      if (longer > groups) break;
      group = longer;
      ++i;
    }
    pieces.push_back({.literal = {}, .group = static_cast<int>(group)});
  }
  return pieces;
}

std::expected<mapping_rule, std::string> parse_rule(std::string_view text) {
  mapping_rule rule;
  if (text == "DEFAULT") {
    rule.is_default = true;
    return rule;
  }
  std::string_view body;
  if (text.starts_with("RULE:")) {
    body = text.substr(5);
  } else if (text.starts_with("SAN:")) {
    const auto rest = text.substr(4);
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos)
      return std::unexpected("SAN rule needs a type: SAN:<DNS|URI|EMAIL|IP>:<regex>/<replacement>/");
    std::string type(rest.substr(0, colon));
    for (char& c : type) c = ascii_upper(c);
    if (type != "DNS" && type != "URI" && type != "EMAIL" && type != "IP") {
      return std::unexpected(
          fmt::format("unknown SAN type \"{}\" (expected DNS, URI, EMAIL or IP)", rest.substr(0, colon)));
    }
    rule.san_type = std::move(type);
    body = rest.substr(colon + 1);
  } else {
    return std::unexpected(std::string(usage));
  }

  std::size_t pos = 0;
  const auto regex_part = take_part(body, pos);
  if (!regex_part) return std::unexpected("missing '/' after the regex (a '/' inside it is written \\/)");
  const auto replacement_part = take_part(body, pos);
  if (!replacement_part) return std::unexpected("missing '/' after the replacement (the rule ends with /, /L or /U)");
  const auto flags = body.substr(pos);
  if (flags == "L") {
    rule.change = case_change::lower;
  } else if (flags == "U") {
    rule.change = case_change::upper;
  } else if (!flags.empty()) {
    return std::unexpected(fmt::format("unknown flags \"{}\" after the last '/' (expected L, U or nothing)", flags));
  }
  if (regex_part->empty()) return std::unexpected("empty regex");

  try {
    rule.pattern = std::regex(regex_source(*regex_part), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return std::unexpected(fmt::format("invalid regex \"{}\": {}", *regex_part, e.what()));
  }
  auto pieces = parse_replacement(*replacement_part, rule.pattern.mark_count());
  if (!pieces) return std::unexpected(std::move(pieces.error()));
  rule.replacement = std::move(*pieces);
  return rule;
}

// The replacement for `value`, or empty when the regex does not match all of it.
std::string apply_rule(const mapping_rule& rule, const std::string& value) {
  if (value.size() > principal_mapping::max_match_input) return {};
  std::smatch match;
  if (!std::regex_match(value, match, rule.pattern)) return {};
  std::string out;
  for (const auto& piece : rule.replacement) {
    if (piece.group < 0) {
      out += piece.literal;
    } else if (match[piece.group].matched) {  // an unmatched optional group inserts nothing, as in Java
      out += match[piece.group].str();
    }
  }
  if (rule.change == case_change::lower) {
    for (char& c : out) c = ascii_lower(c);
  } else if (rule.change == case_change::upper) {
    for (char& c : out) c = ascii_upper(c);
  }
  return out;
}

}  // namespace

struct principal_mapping::rule : mapping_rule {};

principal_mapping::principal_mapping(std::shared_ptr<const std::vector<rule>> rules) : rules_(std::move(rules)) {}

std::expected<principal_mapping, std::string> principal_mapping::parse(const std::vector<std::string>& rules) {
  if (rules.empty()) return std::unexpected("principal mapping has no rules (use DEFAULT for the full subject DN)");
  auto parsed = std::make_shared<std::vector<rule>>();
  parsed->reserve(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto one = parse_rule(trim(rules[i]));
    if (!one) return std::unexpected(fmt::format("principal mapping rule [{}] \"{}\": {}", i, rules[i], one.error()));
    parsed->push_back(rule{std::move(*one)});
  }
  return principal_mapping(std::move(parsed));
}

principal_mapping principal_mapping::default_rules() {
  auto rules = std::make_shared<std::vector<rule>>(1);
  rules->front().is_default = true;
  return principal_mapping(std::move(rules));
}

std::optional<std::string> principal_mapping::map(const cert_identity& identity) const {
  for (const rule& r : *rules_) {
    if (r.is_default) {
      if (!identity.subject_dn.empty()) return identity.subject_dn;
      continue;
    }
    if (r.san_type.empty()) {
      if (auto name = apply_rule(r, identity.subject_dn); !name.empty()) return name;
      continue;
    }
    for (const auto& [type, value] : identity.sans) {
      if (type != r.san_type) continue;
      if (auto name = apply_rule(r, value); !name.empty()) return name;
    }
  }
  return std::nullopt;
}

std::size_t principal_mapping::rule_count() const { return rules_->size(); }

}  // namespace kgw::security

#include "policies/json/selector.h"

#include <limits>

#include "policies/json/json_text.h"

namespace kgw::policies::json {

namespace {

std::unexpected<syntax_error> error(std::size_t offset, std::string message) {
  return std::unexpected(syntax_error{offset, std::move(message)});
}

// A quoted name inside [...]: pos at the opening quote; on success pos is after the closing one.
std::expected<std::string, syntax_error> quoted_name(std::string_view text, std::size_t& pos) {
  char quote = text[pos];
  std::size_t start = pos;
  std::size_t i = pos + 1;
  bool escaped = false;
  while (i < text.size() && text[i] != quote) {
    if (static_cast<unsigned char>(text[i]) < 0x20) return error(i, "control character in a quoted name");
    if (text[i] == '\\') {
      escaped = true;
      ++i;
    }
    ++i;
  }
  if (i >= text.size()) return error(start, "unterminated quoted name");
  std::string_view raw = text.substr(pos + 1, i - pos - 1);
  std::string name;
  if (escaped) {
    std::size_t bad = unescape_append(raw, name);
    if (bad != std::string_view::npos) return error(pos + 1 + bad, "invalid escape in a quoted name");
  } else {
    name.assign(raw);
  }
  pos = i + 1;
  return name;
}

// '[' index ']' at text[pos] == '['.
std::expected<selector_step, syntax_error> bracket_step(std::string_view text, std::size_t& pos) {
  std::size_t open = pos;
  ++pos;
  selector_step step;
  if (pos >= text.size()) return error(pos, "expected '*', an index or a quoted name after '['");
  char c = text[pos];
  if (c == '*') {
    step.what = selector_step::kind::any;
    ++pos;
  } else if (c >= '0' && c <= '9') {
    std::uint64_t v = 0;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(text[pos] - '0');
      if (v > std::numeric_limits<std::uint32_t>::max()) return error(start, "array index too large");
      ++pos;
    }
    step.what = selector_step::kind::index;
    step.index = static_cast<std::uint32_t>(v);
  } else if (c == '"' || c == '\'') {
    auto name = quoted_name(text, pos);
    if (!name) return std::unexpected(name.error());
    step.what = selector_step::kind::name;
    step.name = std::move(*name);
  } else {
    return error(pos, "expected '*', an index or a quoted name after '['");
  }
  if (pos >= text.size() || text[pos] != ']') return error(pos, "expected ']' to close the '[' at offset " +
                                                                    std::to_string(open));
  ++pos;
  return step;
}

std::expected<selector_step, syntax_error> name_step(std::string_view text, std::size_t& pos) {
  std::size_t start = pos;
  if (pos < text.size() && text[pos] == '-') return error(pos, "a field name cannot start with '-'");
  while (pos < text.size() && is_name_byte(text[pos])) ++pos;
  if (pos == start) {
    if (pos >= text.size()) return error(pos, "expected a field name");
    return error(pos, std::string("unexpected '") + text[pos] + "' where a field name was expected");
  }
  selector_step step;
  step.what = selector_step::kind::name;
  step.name.assign(text.substr(start, pos - start));
  return step;
}

}  // namespace

std::expected<selector, syntax_error> parse_selector_at(std::string_view text, std::size_t& pos,
                                                        bool continuation_only) {
  selector sel;
  std::size_t start = pos;
  bool first = !continuation_only;
  for (;;) {
    if (first) {
      first = false;
      auto step = pos < text.size() && text[pos] == '[' ? bracket_step(text, pos) : name_step(text, pos);
      if (!step) return std::unexpected(step.error());
      sel.steps.push_back(std::move(*step));
      continue;
    }
    if (pos >= text.size()) break;
    if (text[pos] == '.') {
      ++pos;
      auto step = name_step(text, pos);
      if (!step) return std::unexpected(step.error());
      sel.steps.push_back(std::move(*step));
    } else if (text[pos] == '[') {
      auto step = bracket_step(text, pos);
      if (!step) return std::unexpected(step.error());
      sel.steps.push_back(std::move(*step));
    } else {
      break;
    }
  }
  sel.text.assign(text.substr(start, pos - start));
  return sel;
}

std::expected<selector, syntax_error> parse_selector(std::string_view text) {
  if (text.empty()) return error(0, "empty field selector");
  std::size_t pos = 0;
  auto sel = parse_selector_at(text, pos);
  if (!sel) return sel;
  if (pos != text.size()) {
    return error(pos, std::string("unexpected '") + text[pos] +
                          "' in a field selector (use [\"...\"] for names with other characters)");
  }
  return sel;
}

}  // namespace kgw::policies::json

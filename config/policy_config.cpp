// Name matching for resource patterns.
#include "config/policy_config.h"

namespace kgw::config {
namespace {

// '*' matches any run (also empty), '?' exactly one character. Iterative with one backtrack
// point: linear in practice and never recursive, so a hostile pattern cannot blow the stack.
bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool resource_pattern::matches(std::string_view name) const {
  switch (type) {
    case pattern_type::literal:
      // Kafka's wildcard resource name: a literal "*" is every name.
      return text == "*" || name == text;
    case pattern_type::prefix: return name.starts_with(text);
    case pattern_type::glob: return glob_match(text, name);
  }
  return false;
}

std::string resource_pattern::str() const {
  switch (type) {
    case pattern_type::literal: return text == "*" ? std::string("* (every name)") : text;
    case pattern_type::prefix: return "prefix " + text;
    case pattern_type::glob: return "glob " + text;
  }
  return text;
}

}  // namespace kgw::config

// Name matching for resource patterns and the names of operations and resource types.
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

const char* name_of(acl_operation op) {
  switch (op) {
    case acl_operation::read: return "Read";
    case acl_operation::write: return "Write";
    case acl_operation::create: return "Create";
    case acl_operation::delete_: return "Delete";
    case acl_operation::alter: return "Alter";
    case acl_operation::describe: return "Describe";
    case acl_operation::describe_configs: return "DescribeConfigs";
    case acl_operation::alter_configs: return "AlterConfigs";
    case acl_operation::idempotent_write: return "IdempotentWrite";
    case acl_operation::all: return "All";
  }
  return "?";
}

const char* name_of(resource_type type) {
  switch (type) {
    case resource_type::topic: return "topic";
    case resource_type::group: return "group";
    case resource_type::transactional_id: return "transactional_id";
    case resource_type::cluster: return "cluster";
  }
  return "?";
}

}  // namespace kgw::config

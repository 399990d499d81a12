#pragma once
// Syntax check of a row-filter predicate, for the config loader (so a typo is reported as
// file:line:col when the policy is loaded, not when a principal first fetches).
// Threading: pure function.
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace kgw::policies {

struct syntax_error {
  std::size_t offset = 0;  // byte offset in the predicate text
  std::string message;
};

// Whether the predicate parses, and where and why not.
std::expected<void, syntax_error> check_predicate(std::string_view text);
// Same for a field selector ("email", "address.street", "items[*].card").
std::expected<void, syntax_error> check_selector(std::string_view text);

}  // namespace kgw::policies

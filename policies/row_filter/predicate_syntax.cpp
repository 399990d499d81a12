#include "policies/row_filter/predicate_syntax.h"

#include "policies/json/selector.h"
#include "policies/row_filter/predicate_ast.h"

namespace kgw::policies {

std::expected<void, syntax_error> check_predicate(std::string_view text) {
  auto parsed = row_filter::parse_predicate(text);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  return {};
}

std::expected<void, syntax_error> check_selector(std::string_view text) {
  auto parsed = json::parse_selector(text);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  return {};
}

}  // namespace kgw::policies

#pragma once
// Tests read JSON (audit events, scrapes) with the gateway's own parser: the value at a dotted
// path ("data.resource.name"), strings unescaped, numbers and literals as written; nullopt when
// the text does not parse or the path is absent.
// Threading: pure.
#include <optional>
#include <string>
#include <string_view>

#include "policies/json/json_doc.h"

namespace kgw::testing {

inline std::optional<std::string> json_field(std::string_view text, std::string_view path) {
  policies::json::json_doc doc;
  if (!doc.parse(text)) return std::nullopt;
  std::uint32_t node = policies::json::json_doc::root();
  while (!path.empty()) {
    const auto dot = path.find('.');
    node = doc.find_member(node, path.substr(0, dot));
    if (node == policies::json::npos) return std::nullopt;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  std::string out;
  if (doc.type(node) == policies::json::json_type::string)
    doc.string_value(node, out);
  else
    out = doc.text(node);
  return out;
}

}  // namespace kgw::testing

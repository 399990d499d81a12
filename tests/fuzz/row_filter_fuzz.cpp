// libFuzzer target: row-filter predicates (policies/row_filter) parsed, compiled for a principal
// and evaluated on a record. Input: predicate, NUL, record value, NUL, record key, NUL, the value
// of header "h" (a part left out is null). Properties:
// - the loader's syntax check (check_predicate) accepts exactly what compiles, and an error's
//   offset lies within the text (the loader turns it into file:line:col);
// - `not (P)` compiles when P does and matches exactly the records P does not; `(P) and (P)`
//   and `(P) or (P)` match as P does;
// - the compiled form's text (str(), shown by `explain`), when it parses again, compiles to a
//   predicate with the same text that matches the same records.
// Seeds: the predicates of config/examples and the tests' views with a few records.
#include <optional>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "fuzz_check.h"
#include "policies/json/json_doc.h"
#include "policies/row_filter/predicate.h"
#include "policies/row_filter/predicate_syntax.h"

namespace rf = kgw::policies::row_filter;
namespace json = kgw::policies::json;
using kgw::fuzz::require;

namespace {

const kgw::config::principal_config& alice() {
  static const kgw::config::principal_config p = [] {
    kgw::config::principal_config c;
    c.name = "alice";
    c.teams = {"sales", "risk"};
    c.attributes["territory"] = "US-WEST";
    c.attributes["tier"] = "3";
    return c;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  for (std::size_t at = 0;;) {
    const std::size_t nul = input.find('\0', at);
    parts.push_back(input.substr(at, nul == std::string::npos ? std::string::npos : nul - at));
    if (nul == std::string::npos || parts.size() == 4) break;
    at = nul + 1;
  }
  const std::string& text = parts[0];
  auto part = [&](std::size_t i) { return i < parts.size() ? std::optional<std::string_view>(parts[i]) : std::nullopt; };

  const auto syntax = kgw::policies::check_predicate(text);
  auto p = rf::predicate::compile(text, alice());
  require(syntax.has_value() == p.has_value(), "check_predicate and compile disagree",
          syntax ? p.error().message : syntax.error().message);
  if (!p) {
    require(p.error().offset <= text.size(), "predicate error offset past the text");
    require(!p.error().message.empty(), "predicate error without a message");
    return 0;
  }

  // The record, parsed as the view parses it (value and key as JSON when they are).
  json::json_doc value_doc, key_doc;
  const auto value = part(1), key = part(2), header = part(3);
  const kgw::policies::record_header headers[] = {{"h", header}};
  kgw::policies::record_in rec{key, value, header ? std::span(headers) : std::span<const kgw::policies::record_header>{},
                               1'700'000'000'000};
  rf::predicate_input in{nullptr, nullptr, &rec};
  if (value && value_doc.parse(*value)) in.value = &value_doc;
  if (key && key_doc.parse(*key)) in.key = &key_doc;

  const bool m = p->matches(in);
  require(!(p->always() && !m) && !(p->never() && m), "always()/never() contradict matches()");

  // Wrapping adds two levels of nesting, which the parser bounds (64).
  auto negated = rf::predicate::compile("not (" + text + ")", alice());
  if (!negated && negated.error().message.find("nested too deeply") != std::string::npos) return 0;
  require(negated.has_value(), "not (P) does not compile", negated ? "" : negated.error().message);
  require(negated->matches(in) == !m, "not (P) matches when P does");
  for (const char* op : {" and ", " or "}) {
    auto twice = rf::predicate::compile("(" + text + ")" + op + "(" + text + ")", alice());
    require(twice.has_value(), "(P) and/or (P) does not compile");
    require(twice->matches(in) == m, "(P) and/or (P) differs from P");
  }

  const std::string shown = p->str();
  if (auto again = rf::predicate::compile(shown, alice())) {
    require(again->matches(in) == m, "the compiled text matches other records", shown);
    require(again->str() == shown, "the compiled text is not stable", shown + " -> " + again->str());
  }
  return 0;
}

#pragma once
// The row-filter predicate language: its grammar, its meaning, and the syntax tree the parser
// produces. policies/row_filter/predicate.h compiles a tree for one principal.
//
// Grammar (whitespace between tokens is free):
//   predicate  := or_expr
//   or_expr    := and_expr ( 'or' and_expr )*
//   and_expr   := unary ( 'and' unary )*
//   unary      := 'not' unary | primary
//   primary    := '(' or_expr ')' | 'exists' '(' reference ')' | comparison
//   comparison := operand op operand | operand 'in' list_source
//   op         := '==' | '!=' | '<' | '<=' | '>' | '>='
//   list_source:= '[' literal ( ',' literal )* ']' | '[' ']' | operand
//   operand    := literal | reference
//   literal    := "string" | 'string'      JSON escapes (\" \\ \/ \b \f \n \r \t \uXXXX, and \')
//               | number                    JSON number grammar: -12, 3.5, 1e3
//               | true | false | null
//   reference  := path                      a field of the JSON value: region, consent.marketing,
//                                           items[*].sku (see policies/json/selector.h)
//               | value | value.path | value[...]    the value (root) or a field of it, explicitly
//               | key                       the whole key, as a string of bytes
//               | key.path | key[...]       a field of the key, parsed as JSON
//               | headers.name | headers["any-name"]   a header's value, as a string of bytes
//               | timestamp                 the record timestamp, int64 ms since the epoch
//               | principal.name            the fetching principal's name
//               | principal.teams           its teams, a list
//               | principal.attr | principal.attributes.attr | principal.attributes["any"]
//                                           one of its attributes, a string
// Precedence, tightest first: `not` (it applies to the one condition after it: a comparison,
// exists(...), a parenthesized predicate or another `not`; comparison operands are values,
// never conditions, so `not a == 1` means `not (a == 1)`), then comparisons, then `and`, then
// `or`. Keywords are lowercase; a field named like a keyword is reached as value.<name>.
//
// Meaning (evaluated per record):
// - Numbers compare numerically (an integer and a decimal compare by value); strings compare
//   by the bytes of their unescaped content; booleans and null compare only for (in)equality.
// - Values of different types: `==` is false, `!=` is true, ordering is false.
// - A missing field, a field of a null (tombstone) or non-JSON value, a missing header, a null
//   key, or a principal attribute the principal does not have: every comparison with it is
//   false, `!=` included, and `in` is false. `exists(...)` is false for it. `not` simply
//   negates, so `not (region == "EU")` is true for records without a region.
// - exists(field) is true when the field is present, even with the value null.
// - Paths with [*] (or matching several nodes) compare true when ANY of the values does.
// - Duplicate member names: the last one counts (as in the consumers' JSON parsers).
// - `x in L` is true when x equals (==) any item of L. L is a list literal, principal.teams,
//   or a field: a JSON array field's elements are its items, any other value is a list of one.
// - A header that occurs several times: the last one counts (Kafka's Headers.lastHeader).
// principal.* references are replaced by constants when the predicate is compiled for a
// principal, so the per-record evaluation never looks at the principal.
// Threading: plain values.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "policies/json/selector.h"
#include "policies/row_filter/predicate_syntax.h"

namespace kgw::policies::row_filter {

struct literal {
  enum class kind : std::uint8_t { null, boolean, integer, decimal, string, list };
  kind what = kind::null;
  bool b = false;
  std::int64_t i = 0;
  double d = 0;
  std::string s;               // string: unescaped; integer/decimal: the number as written
  std::vector<literal> items;  // list
};

struct reference {
  enum class kind : std::uint8_t {
    value_field,          // path in the JSON value (empty path: the value itself)
    key_bytes,            // the whole key
    key_field,            // path in the key parsed as JSON
    header,               // name
    timestamp,
    principal_name,
    principal_teams,
    principal_attribute,  // name
  };
  kind what = kind::value_field;
  json::selector path;
  std::string name;
  std::string text;  // as written
};

struct operand {
  bool is_literal = true;
  literal lit;
  reference ref;
  std::size_t offset = 0;
};

enum class compare_op : std::uint8_t { eq, ne, lt, le, gt, ge, in };
const char* spelling(compare_op op);  // "==", ..., "in"

struct expr {
  enum class kind : std::uint8_t { or_, and_, not_, compare, exists };
  kind what = kind::compare;
  std::vector<expr> children;  // or_, and_ (2 or more), not_ (1)
  compare_op op = compare_op::eq;
  operand lhs, rhs;            // compare; exists uses lhs (a reference)
  std::size_t offset = 0;
};

std::expected<expr, syntax_error> parse_predicate(std::string_view text);

// True when the tree refers to principal.* (it then reads differently per principal).
bool mentions_principal(const expr& e);

}  // namespace kgw::policies::row_filter

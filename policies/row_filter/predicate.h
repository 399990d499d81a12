#pragma once
// A row-filter predicate compiled for one principal (language and meaning: predicate_ast.h).
// principal.* references are folded into constants, literals are converted once, and constant
// sub-conditions are decided at compile time, so evaluating a record parses no policy text and
// allocates nothing: it walks a small tree and reads the record's parsed JSON in place.
// Threading: immutable after compile; matches() is const and may run on any thread.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"
#include "policies/json/json_doc.h"
#include "policies/record.h"
#include "policies/row_filter/predicate_ast.h"

namespace kgw::policies::row_filter {

// What a predicate looks at for one record. Null documents mean the fields are missing (null
// value, value not parsed, key null or not JSON).
struct predicate_input {
  const json::json_doc* value = nullptr;
  const json::json_doc* key = nullptr;
  const record_in* record = nullptr;
};

class predicate {
 public:
  // The predicate that holds for every record.
  predicate();

  static predicate compile(const expr& tree, const config::principal_config& principal);
  static std::expected<predicate, syntax_error> compile(std::string_view text,
                                                        const config::principal_config& principal);

  bool matches(const predicate_input& in) const;

  bool always() const;  // true for every record (no filtering)
  bool never() const;   // false for every record
  bool reads_value() const { return reads_value_; }    // refers to fields of the value
  bool reads_key_json() const { return reads_key_; }   // refers to fields of the key
  // The compiled predicate, principal references replaced by their values:
  // `region == "US-WEST"`, `consent.marketing == true and not (ltv < 100)`.
  std::string str() const;

  // Internal representation (public for the evaluator in predicate.cpp).
  struct constant {
    enum class kind : std::uint8_t { missing, null, boolean, integer, decimal, string, list };
    kind what = kind::missing;
    bool b = false;
    std::int64_t i = 0;
    double d = 0;
    std::string s;  // string; the written form of numbers
    std::vector<constant> items;
  };
  struct term {
    enum class kind : std::uint8_t { constant, value_field, key_field, key_bytes, header, timestamp };
    kind what = kind::constant;
    constant value;
    json::selector path;
    std::string header;
    std::string text;  // references: as written
  };
  struct node {
    enum class kind : std::uint8_t { always, never, all, any, negate, compare, exists };
    kind what = kind::always;
    std::vector<node> children;
    compare_op op = compare_op::eq;
    term lhs, rhs;
  };

 private:
  node root_;
  bool reads_value_ = false, reads_key_ = false;
};

// What of the principal `tree` reads: the values its principal.* references fold to, in tree
// order, as one string. Two principals with the same facts compile `tree` to the same predicate
// (policies/policy_set.cpp shares one compiled view between them).
std::string principal_facts(const expr& tree, const config::principal_config& principal);

}  // namespace kgw::policies::row_filter

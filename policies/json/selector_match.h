#pragma once
// Matching a compiled selector against a parsed document, without allocation: the nodes found
// are handed to a callback one at a time.
//
// Rules:
// - a name step matches members of an object with that (unescaped) name; on anything else it
//   matches nothing;
// - [n] matches the n-th element of an array; [*] every element of an array or every member
//   value of an object;
// - duplicate member names: with match_mode::all every duplicate matches (masks use this, so no
//   copy of a masked field slips through); with match_mode::last only the last one does, the
//   one Jackson, JavaScript and Python keep (predicates use this, so the filter judges what the
//   consumer will read).
// Threading: pure functions over a const document.
#include <cstdint>

#include "policies/json/json_doc.h"
#include "policies/json/selector.h"

namespace kgw::policies::json {

enum class match_mode { all, last };

namespace detail {

// f(node) returns true to stop; the function returns true when stopped.
template <class F>
bool match_from(const json_doc& doc, const selector& sel, std::size_t step, std::uint32_t node, match_mode mode,
                F& f) {
  if (step == sel.steps.size()) return f(node);
  const selector_step& s = sel.steps[step];
  const json_node& n = doc.node(node);
  switch (s.what) {
    case selector_step::kind::name: {
      if (n.type != json_type::object) return false;
      if (mode == match_mode::last) {
        std::uint32_t m = doc.find_member(node, s.name);
        return m != npos && match_from(doc, sel, step + 1, m, mode, f);
      }
      for (std::uint32_t c = doc.first_child(node); c != npos; c = doc.node(c).next)
        if (doc.key_equals(c, s.name) && match_from(doc, sel, step + 1, c, mode, f)) return true;
      return false;
    }
    case selector_step::kind::index: {
      std::uint32_t e = doc.element(node, s.index);
      return e != npos && match_from(doc, sel, step + 1, e, mode, f);
    }
    case selector_step::kind::any: {
      if (n.type != json_type::array && n.type != json_type::object) return false;
      for (std::uint32_t c = doc.first_child(node); c != npos; c = doc.node(c).next)
        if (match_from(doc, sel, step + 1, c, mode, f)) return true;
      return false;
    }
  }
  return false;
}

}  // namespace detail

// Calls f(node index) for each node sel matches in doc (document order) until f returns true.
// Returns true when f stopped the walk.
template <class F>
bool for_each_match(const json_doc& doc, const selector& sel, match_mode mode, F&& f) {
  if (!doc.valid() || doc.size() == 0) return false;
  return detail::match_from(doc, sel, 0, json_doc::root(), mode, f);
}

// The single node a wildcard-free selector points at (last duplicate), npos if none.
inline std::uint32_t find(const json_doc& doc, const selector& sel) {
  std::uint32_t found = npos;
  for_each_match(doc, sel, match_mode::last, [&](std::uint32_t n) {
    found = n;
    return true;
  });
  return found;
}

}  // namespace kgw::policies::json

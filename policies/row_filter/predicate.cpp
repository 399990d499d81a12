#include "policies/row_filter/predicate.h"

#include <algorithm>

#include "policies/json/json_text.h"
#include "policies/json/selector_match.h"

namespace kgw::policies::row_filter {

namespace {

using constant = predicate::constant;
using term = predicate::term;
using node = predicate::node;

// ---- compiling ------------------------------------------------------------------------------

constant from_literal(const literal& l) {
  constant c;
  switch (l.what) {
    case literal::kind::null: c.what = constant::kind::null; break;
    case literal::kind::boolean:
      c.what = constant::kind::boolean;
      c.b = l.b;
      break;
    case literal::kind::integer:
      c.what = constant::kind::integer;
      c.i = l.i;
      c.d = l.d;
      c.s = l.s;
      break;
    case literal::kind::decimal:
      c.what = constant::kind::decimal;
      c.d = l.d;
      c.s = l.s;
      break;
    case literal::kind::string:
      c.what = constant::kind::string;
      c.s = l.s;
      break;
    case literal::kind::list:
      c.what = constant::kind::list;
      for (const auto& item : l.items) c.items.push_back(from_literal(item));
      break;
  }
  return c;
}

constant string_constant(std::string s) {
  constant c;
  c.what = constant::kind::string;
  c.s = std::move(s);
  return c;
}

term from_operand(const operand& o, const config::principal_config& principal) {
  term t;
  if (o.is_literal) {
    t.value = from_literal(o.lit);
    return t;
  }
  const reference& r = o.ref;
  t.text = r.text;
  switch (r.what) {
    case reference::kind::value_field:
      t.what = term::kind::value_field;
      t.path = r.path;
      break;
    case reference::kind::key_field:
      t.what = term::kind::key_field;
      t.path = r.path;
      break;
    case reference::kind::key_bytes: t.what = term::kind::key_bytes; break;
    case reference::kind::header:
      t.what = term::kind::header;
      t.header = r.name;
      break;
    case reference::kind::timestamp: t.what = term::kind::timestamp; break;
    case reference::kind::principal_name: t.value = string_constant(principal.name); break;
    case reference::kind::principal_teams:
      t.value.what = constant::kind::list;
      for (const auto& team : principal.teams) t.value.items.push_back(string_constant(team));
      break;
    case reference::kind::principal_attribute: {
      auto it = principal.attributes.find(r.name);
      if (it != principal.attributes.end()) t.value = string_constant(it->second);  // else: missing
      break;
    }
  }
  return t;
}

// ---- values met while evaluating ------------------------------------------------------------

struct value {
  enum class kind : std::uint8_t { null, boolean, number, string, other };
  kind what = kind::other;
  bool b = false;
  bool integral = false;
  std::int64_t i = 0;
  double d = 0;
  std::string_view s;    // string: raw JSON content when escaped, else the bytes themselves
  bool escaped = false;
};

value of_node(const json::json_doc& doc, std::uint32_t n) {
  value v;
  switch (doc.type(n)) {
    case json::json_type::null: v.what = value::kind::null; break;
    case json::json_type::boolean:
      v.what = value::kind::boolean;
      v.b = doc.boolean(n);
      break;
    case json::json_type::number: {
      v.what = value::kind::number;
      json::json_number num = json::parse_number(doc.text(n));
      v.integral = num.integral;
      v.i = num.i;
      v.d = num.d;
      break;
    }
    case json::json_type::string:
      v.what = value::kind::string;
      v.s = doc.string_raw(n);
      v.escaped = doc.string_escaped(n);
      break;
    default: v.what = value::kind::other;
  }
  return v;
}

value of_constant(const constant& c) {
  value v;
  switch (c.what) {
    case constant::kind::null: v.what = value::kind::null; break;
    case constant::kind::boolean:
      v.what = value::kind::boolean;
      v.b = c.b;
      break;
    case constant::kind::integer:
      v.what = value::kind::number;
      v.integral = true;
      v.i = c.i;
      v.d = c.d;
      break;
    case constant::kind::decimal:
      v.what = value::kind::number;
      v.d = c.d;
      break;
    case constant::kind::string:
      v.what = value::kind::string;
      v.s = c.s;
      break;
    default: v.what = value::kind::other;  // a list compared with ==: equals nothing
  }
  return v;
}

value of_bytes(std::string_view s) {
  value v;
  v.what = value::kind::string;
  v.s = s;
  return v;
}

value of_integer(std::int64_t i) {
  value v;
  v.what = value::kind::number;
  v.integral = true;
  v.i = i;
  v.d = static_cast<double>(i);
  return v;
}

// <0, 0, >0; long double holds every int64 and every double exactly.
int numeric_order(const value& a, const value& b) {
  if (a.integral && b.integral) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  long double x = a.integral ? static_cast<long double>(a.i) : static_cast<long double>(a.d);
  long double y = b.integral ? static_cast<long double>(b.i) : static_cast<long double>(b.d);
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool equal(const value& a, const value& b) {
  if (a.what != b.what) return false;
  switch (a.what) {
    case value::kind::null: return true;
    case value::kind::boolean: return a.b == b.b;
    case value::kind::number: return numeric_order(a, b) == 0;
    case value::kind::string:
      if (!a.escaped && !b.escaped) return a.s == b.s;
      return json::compare_unescaped(a.s, a.escaped, b.s, b.escaped) == 0;
    default: return false;
  }
}

bool compare(const value& a, const value& b, compare_op op) {
  switch (op) {
    case compare_op::eq:
    case compare_op::in: return equal(a, b);
    case compare_op::ne: return !equal(a, b);
    default: break;
  }
  int order;
  if (a.what == value::kind::number && b.what == value::kind::number) {
    order = numeric_order(a, b);
  } else if (a.what == value::kind::string && b.what == value::kind::string) {
    order = json::compare_unescaped(a.s, a.escaped, b.s, b.escaped);
  } else {
    return false;
  }
  switch (op) {
    case compare_op::lt: return order < 0;
    case compare_op::le: return order <= 0;
    case compare_op::gt: return order > 0;
    case compare_op::ge: return order >= 0;
    default: return false;
  }
}

// Calls f(value) for each value the term has for this record until f returns true.
template <class F>
bool each_value(const term& t, const predicate_input& in, F&& f) {
  switch (t.what) {
    case term::kind::constant:
      if (t.value.what == constant::kind::missing) return false;
      return f(of_constant(t.value));
    case term::kind::value_field:
    case term::kind::key_field: {
      const json::json_doc* doc = t.what == term::kind::value_field ? in.value : in.key;
      if (!doc) return false;
      return json::for_each_match(*doc, t.path, json::match_mode::last,
                                  [&](std::uint32_t n) { return f(of_node(*doc, n)); });
    }
    case term::kind::key_bytes:
      if (!in.record || !in.record->key) return false;
      return f(of_bytes(*in.record->key));
    case term::kind::header: {
      if (!in.record) return false;
      const auto& hs = in.record->headers;
      for (std::size_t k = hs.size(); k-- > 0;) {
        if (hs[k].key != t.header) continue;
        if (!hs[k].value) {
          value v;
          v.what = value::kind::null;
          return f(v);
        }
        return f(of_bytes(*hs[k].value));
      }
      return false;
    }
    case term::kind::timestamp:
      if (!in.record) return false;
      return f(of_integer(in.record->timestamp));
  }
  return false;
}

// The items of the right side of `in`: a list's items, an array field's elements, or the
// value itself.
template <class F>
bool each_item(const term& t, const predicate_input& in, F&& f) {
  if (t.what == term::kind::constant && t.value.what == constant::kind::list) {
    for (const auto& item : t.value.items)
      if (f(of_constant(item))) return true;
    return false;
  }
  if (t.what == term::kind::value_field || t.what == term::kind::key_field) {
    const json::json_doc* doc = t.what == term::kind::value_field ? in.value : in.key;
    if (!doc) return false;
    return json::for_each_match(*doc, t.path, json::match_mode::last, [&](std::uint32_t n) {
      if (doc->type(n) != json::json_type::array) return f(of_node(*doc, n));
      for (std::uint32_t c = doc->first_child(n); c != json::npos; c = doc->node(c).next)
        if (f(of_node(*doc, c))) return true;
      return false;
    });
  }
  return each_value(t, in, f);
}

bool exists(const term& t, const predicate_input& in) {
  return each_value(t, in, [](const value&) { return true; });
}

bool evaluate(const node& n, const predicate_input& in) {
  switch (n.what) {
    case node::kind::always: return true;
    case node::kind::never: return false;
    case node::kind::all:
      for (const auto& c : n.children)
        if (!evaluate(c, in)) return false;
      return true;
    case node::kind::any:
      for (const auto& c : n.children)
        if (evaluate(c, in)) return true;
      return false;
    case node::kind::negate: return !evaluate(n.children[0], in);
    case node::kind::exists: return exists(n.lhs, in);
    case node::kind::compare:
      if (n.op == compare_op::in) {
        return each_value(n.lhs, in, [&](const value& l) {
          return each_item(n.rhs, in, [&](const value& r) { return equal(l, r); });
        });
      }
      return each_value(n.lhs, in, [&](const value& l) {
        return each_value(n.rhs, in, [&](const value& r) { return compare(l, r, n.op); });
      });
  }
  return false;
}

node constant_node(bool v) {
  node n;
  n.what = v ? node::kind::always : node::kind::never;
  return n;
}

bool is_missing(const term& t) { return t.what == term::kind::constant && t.value.what == constant::kind::missing; }

// Builds the compiled node and decides what can be decided now.
node build(const expr& e, const config::principal_config& principal) {
  switch (e.what) {
    case expr::kind::compare: {
      node n;
      n.what = node::kind::compare;
      n.op = e.op;
      n.lhs = from_operand(e.lhs, principal);
      n.rhs = from_operand(e.rhs, principal);
      if (is_missing(n.lhs) || is_missing(n.rhs)) return constant_node(false);
      if (n.op == compare_op::in && n.rhs.what == term::kind::constant &&
          n.rhs.value.what == constant::kind::list && n.rhs.value.items.empty())
        return constant_node(false);  // nothing is in an empty list (a principal without teams)
      if (n.lhs.what == term::kind::constant && n.rhs.what == term::kind::constant)
        return constant_node(evaluate(n, predicate_input{}));
      return n;
    }
    case expr::kind::exists: {
      node n;
      n.what = node::kind::exists;
      n.lhs = from_operand(e.lhs, principal);
      if (n.lhs.what == term::kind::constant) return constant_node(!is_missing(n.lhs));
      return n;
    }
    case expr::kind::not_: {
      node c = build(e.children[0], principal);
      if (c.what == node::kind::always) return constant_node(false);
      if (c.what == node::kind::never) return constant_node(true);
      node n;
      n.what = node::kind::negate;
      n.children.push_back(std::move(c));
      return n;
    }
    case expr::kind::and_:
    case expr::kind::or_: {
      bool is_and = e.what == expr::kind::and_;
      node n;
      n.what = is_and ? node::kind::all : node::kind::any;
      for (const auto& child : e.children) {
        node c = build(child, principal);
        // and: true parts vanish, a false part decides; or: the other way round.
        if (c.what == (is_and ? node::kind::always : node::kind::never)) continue;
        if (c.what == (is_and ? node::kind::never : node::kind::always)) return c;
        if (c.what == n.what) {  // flatten a and (b and c)
          for (auto& g : c.children) n.children.push_back(std::move(g));
        } else {
          n.children.push_back(std::move(c));
        }
      }
      if (n.children.empty()) return constant_node(is_and);
      if (n.children.size() == 1) return std::move(n.children[0]);
      return n;
    }
  }
  return constant_node(true);
}

void scan_reads(const node& n, bool& value_fields, bool& key_fields) {
  for (const term* t : {&n.lhs, &n.rhs}) {
    if (n.what != node::kind::compare && n.what != node::kind::exists) break;
    value_fields |= t->what == term::kind::value_field;
    key_fields |= t->what == term::kind::key_field;
  }
  for (const auto& c : n.children) scan_reads(c, value_fields, key_fields);
}

// ---- printing -------------------------------------------------------------------------------

void print_constant(const constant& c, std::string& out) {
  switch (c.what) {
    case constant::kind::missing: out += "missing"; break;
    case constant::kind::null: out += "null"; break;
    case constant::kind::boolean: out += c.b ? "true" : "false"; break;
    case constant::kind::integer:
    case constant::kind::decimal: out += c.s; break;
    case constant::kind::string: json::quote_append(c.s, out); break;
    case constant::kind::list:
      out += '[';
      for (std::size_t k = 0; k < c.items.size(); ++k) {
        if (k) out += ", ";
        print_constant(c.items[k], out);
      }
      out += ']';
      break;
  }
}

void print_term(const term& t, std::string& out) {
  if (t.what == term::kind::constant)
    print_constant(t.value, out);
  else
    out += t.text;
}

void print(const node& n, std::string& out) {
  switch (n.what) {
    case node::kind::always: out += "true"; break;
    case node::kind::never: out += "false"; break;
    case node::kind::compare:
      print_term(n.lhs, out);
      out += ' ';
      out += spelling(n.op);
      out += ' ';
      print_term(n.rhs, out);
      break;
    case node::kind::exists:
      out += "exists(";
      print_term(n.lhs, out);
      out += ')';
      break;
    case node::kind::negate: {
      const node& c = n.children[0];
      out += "not ";
      bool wrap = c.what != node::kind::exists && c.what != node::kind::negate;
      if (wrap) out += '(';
      print(c, out);
      if (wrap) out += ')';
      break;
    }
    case node::kind::all:
    case node::kind::any:
      for (std::size_t k = 0; k < n.children.size(); ++k) {
        if (k) out += n.what == node::kind::all ? " and " : " or ";
        const node& c = n.children[k];
        bool wrap = n.what == node::kind::all && c.what == node::kind::any;
        if (wrap) out += '(';
        print(c, out);
        if (wrap) out += ')';
      }
      break;
  }
}

}  // namespace

predicate::predicate() { root_.what = node::kind::always; }

predicate predicate::compile(const expr& tree, const config::principal_config& principal) {
  predicate p;
  p.root_ = build(tree, principal);
  scan_reads(p.root_, p.reads_value_, p.reads_key_);
  return p;
}

std::expected<predicate, syntax_error> predicate::compile(std::string_view text,
                                                          const config::principal_config& principal) {
  auto tree = parse_predicate(text);
  if (!tree) return std::unexpected(tree.error());
  return compile(*tree, principal);
}

bool predicate::matches(const predicate_input& in) const { return evaluate(root_, in); }
bool predicate::always() const { return root_.what == node::kind::always; }
bool predicate::never() const { return root_.what == node::kind::never; }

namespace {
void append_fact(std::string_view s, std::string& out) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}
void facts_of(const operand& o, const config::principal_config& principal, std::string& out) {
  if (o.is_literal) return;
  switch (o.ref.what) {
    case reference::kind::principal_name:
      out += 'n';
      append_fact(principal.name, out);
      break;
    case reference::kind::principal_teams:
      out += 't' + std::to_string(principal.teams.size()) + ';';
      for (const auto& team : principal.teams) append_fact(team, out);
      break;
    case reference::kind::principal_attribute: {
      out += 'a';
      append_fact(o.ref.name, out);
      auto it = principal.attributes.find(o.ref.name);
      if (it == principal.attributes.end())
        out += '-';  // missing, unlike any value
      else
        append_fact(it->second, out);
      break;
    }
    default: break;
  }
}
void facts_of(const expr& e, const config::principal_config& principal, std::string& out) {
  facts_of(e.lhs, principal, out);
  facts_of(e.rhs, principal, out);
  for (const auto& c : e.children) facts_of(c, principal, out);
}
}  // namespace

std::string principal_facts(const expr& tree, const config::principal_config& principal) {
  std::string out;
  facts_of(tree, principal, out);
  return out;
}

std::string predicate::str() const {
  std::string out;
  print(root_, out);
  return out;
}

}  // namespace kgw::policies::row_filter

// Recursive-descent parser for the predicate language described in predicate_ast.h. Errors
// carry the byte offset where the problem is and say what was expected there.
#include <algorithm>

#include "policies/json/json_text.h"
#include "policies/row_filter/predicate_ast.h"

namespace kgw::policies::row_filter {

const char* spelling(compare_op op) {
  switch (op) {
    case compare_op::eq: return "==";
    case compare_op::ne: return "!=";
    case compare_op::lt: return "<";
    case compare_op::le: return "<=";
    case compare_op::gt: return ">";
    case compare_op::ge: return ">=";
    case compare_op::in: return "in";
  }
  return "?";
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool word_start(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' || u == '$' || u >= 0x80;
}

class parser {
 public:
  explicit parser(std::string_view text) : t_(text) {}

  std::expected<expr, syntax_error> run() {
    skip_ws();
    if (p_ >= t_.size()) return std::unexpected(syntax_error{0, "empty predicate"});
    expr e;
    if (!or_expr(e)) return std::unexpected(err_);
    skip_ws();
    if (p_ < t_.size()) {
      if (t_[p_] == ')') {
        fail(p_, "unexpected ')' (no '(' to close)");
      } else if (!operator_hint(p_)) {
        fail(p_, "unexpected '" + token_at(p_) + "' after '" + snippet(0, p_) + "'; expected 'and', 'or' or the end");
      }
      return std::unexpected(err_);
    }
    return e;
  }

 private:
  // Parentheses and `not` nest by recursion here and in the compiled tree; a bound keeps a
  // pathological policy from exhausting the stack.
  static constexpr int max_nesting = 64;

  std::string_view t_;
  std::size_t p_ = 0;
  int nesting_ = 0;
  syntax_error err_;

  struct nest_guard {
    int& n;
    explicit nest_guard(int& counter) : n(counter) { ++n; }
    ~nest_guard() { --n; }
  };

  bool fail(std::size_t offset, std::string message) {
    err_ = {offset, std::move(message)};
    return false;
  }
  void skip_ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r')) ++p_;
  }
  // The bare word at pos (name bytes), possibly empty.
  std::string_view word_at(std::size_t pos) const {
    std::size_t e = pos;
    while (e < t_.size() && json::is_name_byte(t_[e])) ++e;
    return t_.substr(pos, e - pos);
  }
  bool keyword_at(std::size_t pos, std::string_view kw) const { return word_at(pos) == kw; }
  // What is at pos, for messages: a word, an operator run or one character.
  std::string token_at(std::size_t pos) const {
    if (pos >= t_.size()) return "end of text";
    std::string_view w = word_at(pos);
    if (!w.empty()) return std::string(w);
    std::size_t e = pos;
    while (e < t_.size() && std::string_view("=!<>&|").find(t_[e]) != std::string_view::npos) ++e;
    if (e == pos) e = pos + 1;
    return std::string(t_.substr(pos, e - pos));
  }
  // The text between from and to, trimmed and shortened for messages.
  std::string snippet(std::size_t from, std::size_t to) const {
    std::string_view s = t_.substr(from, to - from);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
      s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
      s.remove_suffix(1);
    if (s.size() > 40) return "..." + std::string(s.substr(s.size() - 37));
    return std::string(s);
  }

  // Recognizes spellings from other languages where a connective is expected; true when it
  // recognized one (the error is then set).
  bool operator_hint(std::size_t pos) {
    std::string_view rest = t_.substr(pos);
    std::string_view w = word_at(pos);
    const char* suggestion = nullptr;
    std::string seen;
    if (rest.starts_with("&&")) {
      seen = "&&", suggestion = "and";
    } else if (rest.starts_with("||")) {
      seen = "||", suggestion = "or";
    } else if (w == "AND" || w == "And") {
      seen = std::string(w), suggestion = "and";
    } else if (w == "OR" || w == "Or") {
      seen = std::string(w), suggestion = "or";
    }
    if (!suggestion) return false;
    fail(pos, "unknown operator '" + seen + "'; did you mean '" + suggestion + "'?");
    return true;
  }

  bool or_expr(expr& out) {
    expr first;
    if (!and_expr(first)) return false;
    skip_ws();
    if (!keyword_at(p_, "or")) {
      out = std::move(first);
      return true;
    }
    out = expr{};
    out.what = expr::kind::or_;
    out.offset = first.offset;
    out.children.push_back(std::move(first));
    while (keyword_at(p_, "or")) {
      p_ += 2;
      expr next;
      if (!and_expr(next)) return false;
      out.children.push_back(std::move(next));
      skip_ws();
    }
    return true;
  }

  bool and_expr(expr& out) {
    expr first;
    if (!unary(first)) return false;
    skip_ws();
    if (!keyword_at(p_, "and")) {
      out = std::move(first);
      return true;
    }
    out = expr{};
    out.what = expr::kind::and_;
    out.offset = first.offset;
    out.children.push_back(std::move(first));
    while (keyword_at(p_, "and")) {
      p_ += 3;
      expr next;
      if (!unary(next)) return false;
      out.children.push_back(std::move(next));
      skip_ws();
    }
    return true;
  }

  bool unary(expr& out) {
    skip_ws();
    nest_guard guard(nesting_);
    if (nesting_ > max_nesting) return fail(p_, "predicate nested too deeply (more than 64 levels of '(' and 'not')");
    if (keyword_at(p_, "not")) {
      out = expr{};
      out.what = expr::kind::not_;
      out.offset = p_;
      p_ += 3;
      out.children.emplace_back();
      return unary(out.children.back());
    }
    if (t_.substr(p_).starts_with("!") && !t_.substr(p_).starts_with("!=")) {
      return fail(p_, "unknown operator '!'; did you mean 'not'?");
    }
    if (keyword_at(p_, "NOT") || keyword_at(p_, "Not")) {
      return fail(p_, "unknown operator '" + std::string(word_at(p_)) + "'; did you mean 'not'?");
    }
    return primary(out);
  }

  bool primary(expr& out) {
    skip_ws();
    if (p_ >= t_.size()) return fail(p_, "expected a condition after '" + snippet(0, p_) + "'");
    if (t_[p_] == '(') {
      std::size_t open = p_++;
      if (!or_expr(out)) return false;
      skip_ws();
      if (p_ < t_.size() && t_[p_] == ')') {
        ++p_;
        return true;
      }
      if (p_ < t_.size() && operator_hint(p_)) return false;
      return fail(p_, "expected ')' after '" + snippet(open + 1, p_) + "' (to close the '(' at offset " +
                          std::to_string(open) + ")");
    }
    if (keyword_at(p_, "exists")) {
      std::size_t at = p_;
      std::size_t q = p_ + 6;
      while (q < t_.size() && (t_[q] == ' ' || t_[q] == '\t')) ++q;
      if (q < t_.size() && t_[q] == '(') {
        p_ = q + 1;
        out = expr{};
        out.what = expr::kind::exists;
        out.offset = at;
        skip_ws();
        std::size_t arg = p_;
        if (!operand_(out.lhs, false)) return false;
        if (out.lhs.is_literal) {
          return fail(arg, "exists(...) takes a field, key, header or principal reference, not a literal");
        }
        skip_ws();
        if (p_ >= t_.size() || t_[p_] != ')') return fail(p_, "expected ')' after '" + snippet(at, p_) + "'");
        ++p_;
        return true;
      }
    }
    return comparison(out);
  }

  bool comparison(expr& out) {
    out = expr{};
    out.what = expr::kind::compare;
    std::size_t start = p_;
    out.offset = start;
    if (!operand_(out.lhs, false)) return false;
    skip_ws();
    std::size_t at = p_;
    std::string_view rest = t_.substr(p_);
    auto op = [&](compare_op o, std::size_t len) {
      out.op = o;
      p_ += len;
      return true;
    };
    bool found = false;
    if (rest.starts_with("==")) {
      found = op(compare_op::eq, 2);
    } else if (rest.starts_with("!=")) {
      found = op(compare_op::ne, 2);
    } else if (rest.starts_with("<>")) {
      return fail(at, "unknown operator '<>'; did you mean '!='?");
    } else if (rest.starts_with("=>")) {
      return fail(at, "unknown operator '=>'; did you mean '>='?");
    } else if (rest.starts_with("=<")) {
      return fail(at, "unknown operator '=<'; did you mean '<='?");
    } else if (rest.starts_with("<=")) {
      found = op(compare_op::le, 2);
    } else if (rest.starts_with(">=")) {
      found = op(compare_op::ge, 2);
    } else if (rest.starts_with("<")) {
      found = op(compare_op::lt, 1);
    } else if (rest.starts_with(">")) {
      found = op(compare_op::gt, 1);
    } else if (rest.starts_with("=")) {
      return fail(at, "unknown operator '='; did you mean '=='?");
    } else if (rest.starts_with("!")) {
      return fail(at, "unknown operator '!'; did you mean '!='?");
    } else if (keyword_at(p_, "in")) {
      found = op(compare_op::in, 2);
    } else if (keyword_at(p_, "IN")) {
      return fail(at, "unknown operator 'IN'; did you mean 'in'?");
    } else if (keyword_at(p_, "not")) {
      std::size_t q = p_ + 3;
      while (q < t_.size() && (t_[q] == ' ' || t_[q] == '\t')) ++q;
      if (keyword_at(q, "in")) {
        std::string l = snippet(start, at);
        return fail(at, "'not in' is not an operator; write not (" + l + " in [...])");
      }
    }
    if (!found) {
      return fail(at, "expected a comparison operator (==, !=, <, <=, >, >=, in) after '" + snippet(start, at) + "'" +
                          (p_ >= t_.size() ? "" : ", found '" + token_at(p_) + "'"));
    }
    skip_ws();
    return operand_(out.rhs, out.op == compare_op::in);
  }

  bool operand_(operand& out, bool allow_list) {
    skip_ws();
    out = operand{};
    out.offset = p_;
    if (p_ >= t_.size()) return fail(p_, "expected a value (a field, a literal or principal.*) after '" +
                                             snippet(0, p_) + "'");
    char c = t_[p_];
    if (c == '"' || c == '\'') return string_literal(out.lit);
    if (c == '-' || is_digit(c)) return number_literal(out.lit);
    if (c == '[') {
      if (!allow_list) return fail(p_, "a list can only follow 'in'");
      return list_literal(out.lit);
    }
    if (!word_start(c)) {
      return fail(p_, "expected a value (a field, a literal or principal.*), found '" + token_at(p_) + "'");
    }
    std::string_view w = word_at(p_);
    std::size_t after = p_ + w.size();
    bool continues = after < t_.size() && (t_[after] == '.' || t_[after] == '[');
    if (!continues && (w == "true" || w == "false")) {
      out.lit.what = literal::kind::boolean;
      out.lit.b = w == "true";
      p_ = after;
      return true;
    }
    if (!continues && w == "null") {
      out.lit.what = literal::kind::null;
      p_ = after;
      return true;
    }
    out.is_literal = false;
    return reference_(out.ref);
  }

  bool string_literal(literal& out) {
    char q = t_[p_];
    std::size_t open = p_;
    std::size_t i = p_ + 1;
    bool escaped = false;
    while (i < t_.size() && t_[i] != q) {
      if (static_cast<unsigned char>(t_[i]) < 0x20 && t_[i] != '\t')
        return fail(i, "control character in string (escape it)");
      if (t_[i] == '\\') {
        escaped = true;
        ++i;
      }
      ++i;
    }
    if (i >= t_.size()) return fail(open, "unterminated string");
    std::string_view raw = t_.substr(open + 1, i - open - 1);
    out.what = literal::kind::string;
    if (escaped) {
      std::size_t bad = json::unescape_append(raw, out.s);
      if (bad != std::string_view::npos) {
        std::size_t at = open + 1 + bad;
        return fail(at, "invalid escape '" + std::string(t_.substr(at, std::min<std::size_t>(2, t_.size() - at))) +
                            "' in string");
      }
    } else {
      out.s.assign(raw);
    }
    p_ = i + 1;
    return true;
  }

  bool number_literal(literal& out) {
    std::size_t start = p_;
    std::size_t i = p_;
    auto digits = [&] {
      std::size_t b = i;
      while (i < t_.size() && is_digit(t_[i])) ++i;
      return i > b;
    };
    if (t_[i] == '-') ++i;
    if (i >= t_.size() || !is_digit(t_[i])) return fail(start, "invalid number");
    if (t_[i] == '0' && i + 1 < t_.size() && is_digit(t_[i + 1]))
      return fail(start, "invalid number (leading zero)");
    digits();
    bool decimal = false;
    if (i < t_.size() && t_[i] == '.') {
      ++i;
      decimal = true;
      if (!digits()) return fail(i, "invalid number (digits expected after '.')");
    }
    if (i < t_.size() && (t_[i] == 'e' || t_[i] == 'E')) {
      ++i;
      decimal = true;
      if (i < t_.size() && (t_[i] == '+' || t_[i] == '-')) ++i;
      if (!digits()) return fail(i, "invalid number (digits expected in the exponent)");
    }
    if (i < t_.size() && (json::is_name_byte(t_[i]) || t_[i] == '.')) {
      return fail(start, "invalid number '" + token_at(start) + "'");
    }
    std::string_view text = t_.substr(start, i - start);
    json::json_number n = json::parse_number(text);
    if (!decimal && !n.integral) return fail(start, "integer out of range (use a decimal)");
    out.what = n.integral ? literal::kind::integer : literal::kind::decimal;
    out.i = n.i;
    out.d = n.d;
    out.s.assign(text);
    p_ = i;
    return true;
  }

  bool list_literal(literal& out) {
    std::size_t open = p_++;
    out.what = literal::kind::list;
    skip_ws();
    if (p_ < t_.size() && t_[p_] == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (p_ >= t_.size()) return fail(open, "unterminated list (expected ']')");
      literal item;
      char c = t_[p_];
      if (c == '"' || c == '\'') {
        if (!string_literal(item)) return false;
      } else if (c == '-' || is_digit(c)) {
        if (!number_literal(item)) return false;
      } else if (keyword_at(p_, "true") || keyword_at(p_, "false")) {
        item.what = literal::kind::boolean;
        item.b = keyword_at(p_, "true");
        p_ += item.b ? 4 : 5;
      } else if (keyword_at(p_, "null")) {
        item.what = literal::kind::null;
        p_ += 4;
      } else {
        return fail(p_, "lists hold literals only (strings, numbers, true, false, null), found '" + token_at(p_) + "'");
      }
      out.items.push_back(std::move(item));
      skip_ws();
      if (p_ < t_.size() && t_[p_] == ',') {
        ++p_;
        continue;
      }
      if (p_ < t_.size() && t_[p_] == ']') {
        ++p_;
        return true;
      }
      return fail(p_, "expected ',' or ']' in the list that starts at offset " + std::to_string(open));
    }
  }

  // A selector continuing at p_ ('.' or '['), for value/key/headers/principal prefixes.
  bool continuation(json::selector& sel) {
    auto s = json::parse_selector_at(t_, p_, true);
    if (!s) return fail(s.error().offset, s.error().message);
    sel = std::move(*s);
    return true;
  }

  bool reference_(reference& out) {
    std::size_t start = p_;
    std::string_view w = word_at(p_);
    std::size_t after = p_ + w.size();
    bool continues = after < t_.size() && (t_[after] == '.' || t_[after] == '[');
    if (w == "value" || w == "key") {
      p_ = after;
      bool is_key = w == "key";
      if (continues) {
        if (!continuation(out.path)) return false;
        out.what = is_key ? reference::kind::key_field : reference::kind::value_field;
      } else {
        out.what = is_key ? reference::kind::key_bytes : reference::kind::value_field;
      }
    } else if (w == "headers") {
      p_ = after;
      if (!continues) return fail(start, "headers needs a header name: headers.trace or headers[\"x-trace\"]");
      json::selector sel;
      if (!continuation(sel)) return false;
      if (sel.steps.size() != 1 || sel.steps[0].what != json::selector_step::kind::name) {
        return fail(start, "expected one header name: headers.name, or headers[\"a.b\"] for names with other characters");
      }
      out.what = reference::kind::header;
      out.name = std::move(sel.steps[0].name);
    } else if (w == "timestamp") {
      p_ = after;
      if (continues) return fail(after, "timestamp has no fields");
      out.what = reference::kind::timestamp;
    } else if (w == "principal") {
      p_ = after;
      json::selector sel;
      if (continues && !continuation(sel)) return false;
      auto is_name = [&](std::size_t i) {
        return i < sel.steps.size() && sel.steps[i].what == json::selector_step::kind::name;
      };
      if (sel.steps.size() == 1 && is_name(0) && sel.steps[0].name == "name") {
        out.what = reference::kind::principal_name;
      } else if (sel.steps.size() == 1 && is_name(0) && sel.steps[0].name == "teams") {
        out.what = reference::kind::principal_teams;
      } else if (sel.steps.size() == 2 && is_name(0) && is_name(1) && sel.steps[0].name == "attributes") {
        out.what = reference::kind::principal_attribute;
        out.name = sel.steps[1].name;
      } else if (sel.steps.size() == 1 && is_name(0) && sel.steps[0].name != "attributes") {
        out.what = reference::kind::principal_attribute;
        out.name = sel.steps[0].name;
      } else {
        return fail(start, "unknown principal reference '" + std::string(t_.substr(start, p_ - start)) +
                               "'; use principal.name, principal.teams or principal.<attribute>");
      }
    } else {
      out.what = reference::kind::value_field;
      auto s = json::parse_selector_at(t_, p_);
      if (!s) return fail(s.error().offset, s.error().message);
      out.path = std::move(*s);
    }
    out.text.assign(t_.substr(start, p_ - start));
    return true;
  }
};

bool mentions(const operand& o) {
  if (o.is_literal) return false;
  auto k = o.ref.what;
  return k == reference::kind::principal_name || k == reference::kind::principal_teams ||
         k == reference::kind::principal_attribute;
}

}  // namespace

std::expected<expr, syntax_error> parse_predicate(std::string_view text) { return parser(text).run(); }

bool mentions_principal(const expr& e) {
  if (mentions(e.lhs) || mentions(e.rhs)) return true;
  return std::any_of(e.children.begin(), e.children.end(), [](const expr& c) { return mentions_principal(c); });
}

}  // namespace kgw::policies::row_filter

// Strict YAML reads shared by the gateway config and policy loaders: see config/yaml_reader.h.
#include "config/yaml_reader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "config/bounded_file.h"
#include "config/utf8.h"

namespace kgw::config {

std::string syntax_error_message(const std::string& source, const YAML::Exception& e) {
  std::ostringstream os;
  os << source << ':' << (e.mark.line + 1) << ':' << (e.mark.column + 1) << ": " << e.msg;
  return os.str();
}

namespace {

// Where a 0-based line and column are, as every config error names it.
std::string position(const std::string& source, std::size_t line0, std::size_t col0) {
  return source_mark{source, static_cast<int>(line0) + 1, static_cast<int>(col0) + 1}.str();
}

// Why s cannot be configuration text, with the offset of the offending byte; nullopt when it can.
// Allowed: tab, line ends, and printable code points (YAML 1.2's c-printable, NEL included;
// DEL, C1 controls and U+FFFE/U+FFFF not). A leading byte order mark is allowed.
std::optional<std::pair<std::size_t, std::string>> bad_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_decode(s, i, cp);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(s[i]));
      return std::pair{i, std::string("invalid UTF-8 (byte ") + hex + ")"};
    }
    const bool allowed = cp == '\t' || cp == '\n' || cp == '\r' || (cp >= 0x20 && cp < 0x7F) || cp == 0x85 ||
                         (cp >= 0xA0 && cp != 0xFFFE && cp != 0xFFFF);
    if (!allowed) {
      char u[16];
      std::snprintf(u, sizeof u, "U+%04X", static_cast<unsigned>(cp));
      return std::pair{i, std::string("control character ") + u + " is not allowed"};
    }
    i += n;
  }
  return std::nullopt;
}

// Walks the parse events once (linear in the text, aliases are not expanded) to check what
// yaml-cpp does not: duplicate keys, the content of strings, progress, document count.
class stream_checker final : public YAML::EventHandler {
 public:
  explicit stream_checker(const std::string& source) : source_(source) {}

  // Where the last document started: yaml-cpp reports it at the first token it found there.
  std::optional<YAML::Mark> document_start;

  void OnDocumentStart(const YAML::Mark& m) override {
    document_start = m;
    stack_.clear();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m, nullptr); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m, nullptr); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string& value) override {
    if (auto bad = bad_text(value)) fail(m, "a string with " + bad->second + " (after its escapes)");
    node(m, &value);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(m, nullptr);
    stack_.push_back({});
  }
  void OnSequenceEnd() override { stack_.pop_back(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(m, nullptr);
    stack_.push_back(container{.is_map = true, .expect_key = true, .keys = {}});
  }
  void OnMapEnd() override { stack_.pop_back(); }

  [[noreturn]] void fail(const YAML::Mark& m, const std::string& msg) const {
    throw yaml_failure{position(source_, static_cast<std::size_t>(m.line), static_cast<std::size_t>(m.column)) +
                       ": " + msg};
  }

 private:
  struct container {
    bool is_map = false;
    bool expect_key = true;
    std::unordered_map<std::string, YAML::Mark> keys;  // a mapping's scalar keys so far (hashed: a
                                                       // mapping may have many keys)
  };

  // Every node starts here; in a mapping, nodes alternate between key and value.
  void node(const YAML::Mark& m, const std::string* scalar) {
    if (stack_.empty() || !stack_.back().is_map) return;
    container& c = stack_.back();
    if (c.expect_key && scalar) {
      const auto [it, fresh] = c.keys.try_emplace(*scalar, m);
      if (!fresh)
        fail(m, "duplicate key '" + *scalar + "' (first at line " + std::to_string(it->second.line + 1) + ", column " +
                    std::to_string(it->second.column + 1) + "): YAML would silently drop one of them");
    }
    c.expect_key = !c.expect_key;
  }

  const std::string& source_;
  std::vector<container> stack_;
};

}  // namespace

std::vector<YAML::Node> load_yaml_documents(std::string_view text, const std::string& source, bool single_document) {
  std::string_view body = text;
  std::size_t skipped = 0;
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(skipped = 3);  // a UTF-8 byte order mark
  if (auto bad = bad_text(body)) {
    const std::size_t at = bad->first + skipped;
    const std::size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
    const std::size_t begin = (line_start == std::string_view::npos || at == 0) ? 0 : line_start + 1;
    std::size_t col = 0;  // in code points
    for (std::size_t i = begin; i < at; ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
    const std::size_t line = static_cast<std::size_t>(std::count(text.begin(), text.begin() + at, '\n'));
    throw yaml_failure{position(source, line, col) + ": " + bad->second};
  }
  const std::string owned(text);
  {
    std::istringstream in(owned);
    YAML::Parser parser(in);
    stream_checker checker(source);
    std::optional<YAML::Mark> previous;
    std::size_t documents = 0;
    for (;;) {
      checker.document_start.reset();
      if (!parser.HandleNextDocument(checker)) break;
      // A document that starts where the previous one did consumed nothing: yaml-cpp would
      // go on yielding empty documents at that token forever.
      const YAML::Mark at = checker.document_start.value_or(YAML::Mark{});
      if (previous && previous->pos == at.pos) {
        const char c = at.pos >= 0 && static_cast<std::size_t>(at.pos) < owned.size() ? owned[at.pos] : '?';
        checker.fail(at, std::string("unexpected '") + c + "': not the start of a YAML node");
      }
      previous = at;
      if (++documents > 1 && single_document)
        checker.fail(at, "a second YAML document: this file must hold exactly one (remove the '---' line or the rest)");
      if (documents > 10000) checker.fail(at, "more than 10000 YAML documents");
    }
  }
  return YAML::LoadAll(owned);
}

source_mark yaml_reader::mark_of(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {source_, 1, 1};  // a node built in code has no position
  return {source_, m.line + 1, m.column + 1};
}

void yaml_reader::fail_at(const source_mark& at, const std::string& msg) const {
  throw yaml_failure{at.str() + ": " + msg};
}

void yaml_reader::fail(const YAML::Node& n, const std::string& msg) const { fail_at(mark_of(n), msg); }

void yaml_reader::require_map(const YAML::Node& n, const std::string& what) const {
  if (!n.IsMap()) fail(n, what + " must be a mapping");
}

void yaml_reader::only_keys(const YAML::Node& n, const std::string& what, std::span<const char* const> allowed) const {
  for (const auto& kv : n) {
    const std::string key = scalar(kv.first, "a key in " + what);
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
    }
  }
}

std::string yaml_reader::scalar(const YAML::Node& n, const std::string& what) const {
  if (!n.IsScalar()) fail(n, what + " must be a " + scalar_kind_);
  return n.Scalar();
}

std::string yaml_reader::nonempty(const YAML::Node& n, const std::string& what) const {
  std::string s = scalar(n, what);
  if (s.empty()) fail(n, what + " must not be empty");
  return s;
}

bool yaml_reader::boolean(const YAML::Node& n, const std::string& what) const {
  const std::string s = scalar(n, what);
  if (s == "true") return true;
  if (s == "false") return false;
  fail(n, what + " must be true or false, got '" + s + "'");
}

std::size_t yaml_reader::size_bytes(const YAML::Node& n, const std::string& what) const {
  const std::string s = scalar(n, what);
  unsigned long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{}) fail(n, what + " must be a size like 100MiB, got '" + s + "'");
  const std::string unit(p, s.data() + s.size());
  unsigned long long mult = 1;
  if (unit == "KiB")
    mult = 1ull << 10;
  else if (unit == "MiB")
    mult = 1ull << 20;
  else if (unit == "GiB")
    mult = 1ull << 30;
  else if (!unit.empty() && unit != "B")
    fail(n, what + " has an unknown unit '" + unit + "' (use B, KiB, MiB or GiB)");
  if (v > (~0ull) / mult) fail(n, what + " is too large");
  return static_cast<std::size_t>(v * mult);
}

long long yaml_reader::integer(const YAML::Node& n, const std::string& what, long long lo, long long hi) const {
  const std::string s = scalar(n, what);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) fail(n, what + " must be an integer, got '" + s + "'");
  if (v < lo || v > hi)
    fail(n, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + s);
  return v;
}

std::chrono::milliseconds yaml_reader::duration(const YAML::Node& n, const std::string& what) const {
  const std::string s = scalar(n, what);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || v < 0) fail(n, what + " must be a duration like 30s, 500ms or 10m, got '" + s + "'");
  const std::string unit(p, s.data() + s.size());
  if (unit.empty() || unit == "ms") return std::chrono::milliseconds(v);
  if (unit == "s") return std::chrono::seconds(v);
  if (unit == "m") return std::chrono::minutes(v);
  if (unit == "h") return std::chrono::hours(v);
  if (unit == "d") return std::chrono::hours(24 * v);
  fail(n, what + " has an unknown unit '" + unit + "' (use ms, s, m, h or d)");
}

std::vector<YAML::Node> yaml_reader::list(const YAML::Node& n, const std::string& what) const {
  std::vector<YAML::Node> out;
  if (n.IsScalar()) {
    out.push_back(n);
  } else if (n.IsSequence()) {
    for (const auto& e : n) out.push_back(e);
  } else {
    fail(n, what + " must be a list");
  }
  return out;
}

std::vector<std::string> yaml_reader::string_list(const YAML::Node& n, const std::string& what) const {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  for (const auto& e : list(n, what)) out.push_back(scalar(e, what + " entry"));
  return out;
}

std::string yaml_reader::read_file(const YAML::Node& n, const std::string& what, const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(source_).parent_path() / p;  // relative to the file naming it
  auto contents = read_bounded_file(p.string(), max_named_file_bytes);
  if (!contents) fail(n, what + ": " + contents.error());
  return std::move(*contents);
}

std::string yaml_reader::secret(const YAML::Node& n, const std::string& what, secret_rules rules) const {
  if (n.IsScalar()) return rules.bare_is_path ? read_file(n, what, n.Scalar()) : n.Scalar();
  if (!n.IsMap() || n.size() != 1)
    fail(n, what + " must be " + (rules.bare_is_path ? "a file path" : "a value") +
                " or one of {file: PATH}, {env: VARIABLE}, {value: TEXT}");
  only_keys(n, what, {"file", "env", "value"});
  auto name = [&](const YAML::Node& x, const std::string& x_what) {
    return rules.names_nonempty ? nonempty(x, x_what) : scalar(x, x_what);
  };
  if (auto f = n["file"]) {
    std::string text = read_file(f, what, name(f, what + ".file"));
    if (rules.trim_file_line_end)
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }
  if (auto v = n["value"]) return scalar(v, what + ".value");
  const auto e = n["env"];
  const std::string var = name(e, what + ".env");
  const char* val = std::getenv(var.c_str());
  if (!val) fail(e, what + ": environment variable " + var + " is not set");
  return val;
}

}  // namespace kgw::config

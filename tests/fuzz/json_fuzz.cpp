// libFuzzer target: the record JSON scanner and its in-place edits (policies/json). Properties:
// - an error's offset lies within the text; a valid document's tape is well formed: node 0 is
//   the root, every node's text lies inside its parent's, children follow their parent, sibling
//   links agree, depth is the parent's + 1 and never above max_depth, member keys sit before
//   their value;
// - every string unescapes to valid UTF-8 (what masks and filters compare and emit);
// - no edits reproduce the text byte for byte; replacing any node with `null` changes exactly
//   its text, removing it changes only its parent's text (the root gives null), and both leave
//   valid JSON (masks and `remove` rely on it).
// Seeds: JSON record values from the tests' views (tests/fuzz/seed_writer.cpp).
#include <string>

#include "fuzz_check.h"
#include "policies/json/json_doc.h"
#include "policies/json/json_edit.h"

namespace json = kgw::policies::json;
using kgw::fuzz::require;

namespace {

// RFC 3629 UTF-8, no surrogates, no overlongs.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}

void check_tape(const json::json_doc& doc) {
  const auto src = doc.source();
  require(doc.size() > 0, "a valid document has no root");
  for (std::uint32_t i = 0; i < doc.size(); ++i) {
    const auto& n = doc.node(i);
    require(n.begin < n.end && n.end <= src.size(), "node text outside the source");
    if (i == 0) {
      require(n.parent == json::npos && n.depth == 0 && !doc.is_member(0), "root node links");
      continue;
    }
    require(n.parent < i, "a node before its parent");
    const auto& p = doc.node(n.parent);
    require(p.type == json::json_type::array || p.type == json::json_type::object, "parent is not a container");
    require(n.begin > p.begin && n.end < p.end, "node text outside its parent's");
    require(n.depth == p.depth + 1 && n.depth <= json::json_doc::max_depth, "node depth");
    require(doc.is_member(i) == (p.type == json::json_type::object), "member keys only in objects");
    if (doc.is_member(i)) require(n.key_begin > p.begin && n.key_end <= n.begin, "member key after its value");
    if (n.prev != json::npos) {
      require(n.prev < i && doc.node(n.prev).next == i && doc.node(n.prev).parent == n.parent, "sibling links");
      require(doc.node(n.prev).end <= (doc.is_member(i) ? n.key_begin : n.begin), "siblings overlap");
    } else {
      require(doc.first_child(n.parent) == i, "first child is not right after its parent");
    }
    if (n.type == json::json_type::string) {
      std::string s;
      doc.string_value(i, s);
      require(valid_utf8(s), "a string unescapes to invalid UTF-8");
    }
    if (doc.is_member(i)) {
      require(doc.key_equals(i, doc.key_raw(i)) || (n.flags & json::json_node::key_escaped_flag),
              "an unescaped key does not equal itself");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An owned copy of exactly the input's size: reads past its end are ASan reports.
  const std::string text(reinterpret_cast<const char*>(data), size);
  static json::json_doc doc;
  static json::json_edits edits;
  const auto parsed = doc.parse(text);
  if (!parsed) {
    require(parsed.error().offset <= text.size(), "error offset past the text");
    require(parsed.error().message && *parsed.error().message, "error without a message");
    require(!doc.valid(), "an invalid document says it is valid");
    return 0;
  }
  require(doc.valid(), "a parsed document says it is invalid");
  check_tape(doc);

  std::string out;
  edits.clear();
  edits.apply(doc, out);
  require(out == text, "applying no edits changed the text");

  // One node nulled, one node removed (a node picked from the input, so the fuzzer steers it).
  const std::uint32_t pick = static_cast<std::uint32_t>(size ? data[size / 2] : 0) % doc.size();
  for (bool remove : {false, true}) {
    edits.clear();
    if (remove)
      edits.remove(pick);
    else
      edits.replace_text(pick, "null");
    out.clear();
    edits.apply(doc, out);
    json::json_doc again;
    const auto ok = again.parse(out);
    require(ok.has_value(), remove ? "removing a node left invalid JSON" : "nulling a node left invalid JSON", out);
    // The whitespace around the root is untouched text, kept as it was.
    const auto& n = doc.node(pick);
    if (!remove) {
      require(out == text.substr(0, n.begin) + "null" + text.substr(n.end), "nulling a node changed other text", out);
    } else if (pick != 0) {
      // Removing a member or element touches only its parent's text.
      const auto& p = doc.node(n.parent);
      const std::size_t tail = text.size() - p.end;
      require(out.size() < text.size() && out.compare(0, p.begin, text, 0, p.begin) == 0 &&
                  out.compare(out.size() - tail, tail, text, p.end, tail) == 0,
              "removing a node changed text outside its parent", out);
    }
    if (remove && pick == 0) require(again.size() == 1 && again.type(0) == json::json_type::null,
                                     "removing the root does not give null", out);
  }
  return 0;
}

#include "policies/json/json_edit.h"

#include <algorithm>
#include <array>

namespace kgw::policies::json {

void json_edits::replace(std::uint32_t node, std::size_t text_begin, int priority) {
  edits_.push_back({node, false, priority, static_cast<std::uint32_t>(edits_.size()),
                    static_cast<std::uint32_t>(text_begin), static_cast<std::uint32_t>(texts_.size())});
}

void json_edits::replace_text(std::uint32_t node, std::string_view json_text, int priority) {
  std::size_t b = texts_.size();
  texts_.append(json_text);
  replace(node, b, priority);
}

void json_edits::remove(std::uint32_t node, int priority) {
  edits_.push_back({node, true, priority, static_cast<std::uint32_t>(edits_.size()), 0, 0});
}

void json_edits::apply(const json_doc& doc, std::string& out) {
  std::string_view src = doc.source();
  if (edits_.empty() || !doc.valid()) {
    out.append(src);
    return;
  }
  std::sort(edits_.begin(), edits_.end(), [](const edit& a, const edit& b) {
    if (a.node != b.node) return a.node < b.node;
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.order < b.order;
  });
  // Keep one edit per node, and none inside an edited node. Nodes are numbered in document
  // order, so a descendant of an edited node starts before that node's end.
  std::size_t kept = 0;
  std::uint32_t cover_end = 0;
  std::uint32_t last_node = npos;
  for (const edit& e : edits_) {
    const json_node& n = doc.node(e.node);
    if (e.node == last_node || (kept > 0 && n.begin < cover_end)) continue;
    edits_[kept++] = e;
    last_node = e.node;
    cover_end = n.end;
  }
  edits_.resize(kept);

  if (removed_.size() < doc.size()) removed_.resize(doc.size(), 0);
  for (const edit& e : edits_)
    if (e.remove) removed_[e.node] = 1;

  // Per nesting depth: the parent last looked at and its first and last surviving children.
  // Walking document order, a parent's removed children can be interleaved only with edits
  // deeper down, so one entry per depth is enough to scan each parent's children once.
  struct survivors {
    std::uint32_t parent = npos, first = npos, last = npos;
  };
  std::array<survivors, json_doc::max_depth + 2> cache{};

  auto item_start = [&](std::uint32_t i) {
    const json_node& n = doc.node(i);
    return doc.is_member(i) ? n.key_begin - 1 : n.begin;  // a member starts at its key's quote
  };

  out.reserve(out.size() + src.size());
  std::uint32_t pos = 0;
  auto emit = [&](std::uint32_t start, std::uint32_t stop, std::string_view text) {
    if (start < pos) return;  // cannot happen with the rules above; never emit overlapping text
    out.append(src.data() + pos, start - pos);
    out.append(text);
    pos = stop;
  };

  for (const edit& e : edits_) {
    const json_node& n = doc.node(e.node);
    if (!e.remove) {
      emit(n.begin, n.end, std::string_view(texts_).substr(e.text_begin, e.text_end - e.text_begin));
      continue;
    }
    if (n.parent == npos) {
      emit(n.begin, n.end, "null");
      continue;
    }
    survivors& s = cache[n.depth];
    if (s.parent != n.parent) {
      s = survivors{n.parent, npos, npos};
      for (std::uint32_t c = doc.first_child(n.parent); c != npos; c = doc.node(c).next) {
        if (removed_[c]) continue;
        if (s.first == npos) s.first = c;
        s.last = c;
      }
    }
    if (s.last != npos && s.last > e.node) {
      // A surviving sibling follows: take this item and the separator after it.
      emit(item_start(e.node), item_start(n.next), {});
    } else if (s.first != npos && s.first < e.node) {
      // Only removed siblings follow but one survives before: take the separator before it.
      emit(doc.node(n.prev).end, n.end, {});
    } else {
      // Nothing survives in this container: take items with the separators between them.
      emit(item_start(e.node), n.next != npos ? item_start(n.next) : n.end, {});
    }
  }
  out.append(src.data() + pos, src.size() - pos);

  for (const edit& e : edits_)
    if (e.remove) removed_[e.node] = 0;
}

}  // namespace kgw::policies::json

#pragma once
// Edits to a parsed document and the re-serialization that applies them: the output is the
// source with only the edited spans replaced, so everything untouched (whitespace, number
// spelling, escapes, member order) stays byte-identical.
//
// Edits: replace a node's value with JSON text (set null is replace with "null"), or remove a
// node: an object member goes with its key, an array element with its slot, and the commas
// around them are fixed (first, middle, last and only member all come out as valid JSON).
// Removing the root yields "null".
// When edits collide, one wins: an edit of a node inside a node that is itself edited is
// dropped (the outer edit covers it), and of several edits of the same node the one with the
// highest priority wins (the first one added on a tie).
// Threading: one edit set per thread (reuse it: clear() keeps the buffers).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policies/json/json_doc.h"

namespace kgw::policies::json {

class json_edits {
 public:
  void clear() {
    edits_.clear();
    texts_.clear();
  }
  bool empty() const { return edits_.empty(); }
  std::size_t size() const { return edits_.size(); }

  // Replacement text is built in place: append it to text_buffer(), then call replace() with
  // the buffer size from before the append.
  std::string& text_buffer() { return texts_; }
  void replace(std::uint32_t node, std::size_t text_begin, int priority = 0);
  void replace_text(std::uint32_t node, std::string_view json_text, int priority = 0);
  void remove(std::uint32_t node, int priority = 0);

  // Appends doc's source with the edits applied to out. Sorts the edits (so call it once per
  // set of edits). doc must be the document the node indices refer to.
  void apply(const json_doc& doc, std::string& out);

 private:
  struct edit {
    std::uint32_t node;
    bool remove;
    int priority;
    std::uint32_t order;  // insertion order, for ties
    std::uint32_t text_begin, text_end;
  };
  std::vector<edit> edits_;
  std::string texts_;
  std::vector<std::uint8_t> removed_;  // per node, while apply runs
};

}  // namespace kgw::policies::json

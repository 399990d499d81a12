// The compiled view: one row filter (the AND of every applicable `where`) and the masks of
// every applicable rule, applied over one parse of the value (and of the key only when key
// fields are filtered or masked).
//
// Records that cannot be governed: when the view masks or filters value fields and the value
// is not JSON (or masks/filters key fields and the key is not JSON):
// - on_invalid_json: drop (the default, and what wins when the rules disagree) -> drop_invalid;
// - replace -> delivered with value = the configured replacement and replaced_invalid set; a
//   key that is not JSON becomes null; header and whole-key masks still apply. If the row
//   filter itself reads fields of the unparsable part, it cannot be evaluated, and the record
//   is dropped as drop_invalid instead (delivering it would bypass the filter).
// Null values (tombstones) are delivered unmasked when the filter lets them through: there is
// nothing to mask, and compaction needs them. The filter sees their fields as missing.
#include "policies/view/topic_view.h"

#include <algorithm>

#include "policies/json/json_doc.h"
#include "policies/json/json_edit.h"
#include "policies/json/selector_match.h"
#include "policies/masking/field_mask.h"
#include "policies/row_filter/predicate.h"

namespace kgw::policies {

namespace {


std::string located(const config::source_mark& at, const std::string& message) {
  return at.line > 0 ? at.str() + ": " + message : message;
}

struct json_mask {
  json::selector field;
  masking::field_mask fn;
};

struct header_mask {
  std::string header;
  masking::field_mask fn;
};

// Per worker thread: the parsed documents and the edit buffers, reused record after record.
struct view_scratch {
  json::json_doc value, key;
  json::json_edits edits;
};

view_scratch& scratch() {
  thread_local view_scratch s;
  return s;
}

class compiled_view final : public topic_view {
 public:
  const std::uint64_t identity = next_output_identity();  // compiled once: the view's own
  std::uint64_t output_identity() const override { return identity; }
  row_filter::predicate filter;
  std::vector<json_mask> value_masks, key_masks;
  std::optional<masking::field_mask> whole_key_mask;  // the strongest of the whole-key masks
  std::vector<header_mask> header_masks;               // one per header name, the strongest
  invalid_json_action on_invalid = invalid_json_action::drop;
  std::string invalid_replacement;
  bool needs_value_json = false, needs_key_json = false;
  std::vector<std::string> description;

  bool passthrough() const override { return !filters() && !masks(); }
  bool filters() const override { return !filter.always(); }
  bool masks() const override {
    return !value_masks.empty() || !key_masks.empty() || whole_key_mask || !header_masks.empty();
  }
  std::vector<std::string> describe() const override { return description; }

  void apply(const record_in& in, record_result& out, record_arena& arena) const override {
    out.reset();
    if (passthrough()) return;
    view_scratch& s = scratch();
    const json::json_doc* value_doc = nullptr;
    const json::json_doc* key_doc = nullptr;
    bool value_invalid = false, key_invalid = false;
    if (needs_value_json && in.value) {
      if (!s.value.parse(*in.value))
        value_invalid = true;
      else
        value_doc = &s.value;
    }
    if (needs_key_json && in.key) {
      if (!s.key.parse(*in.key))
        key_invalid = true;
      else
        key_doc = &s.key;
    }
    bool replace = false;
    if (value_invalid || key_invalid) {
      bool filter_blind = (value_invalid && filter.reads_value()) || (key_invalid && filter.reads_key_json());
      if (on_invalid == invalid_json_action::drop || filter_blind) {
        out.what = verdict::drop_invalid;
        return;
      }
      replace = true;
    }
    if (!filter.always()) {
      row_filter::predicate_input pin{value_doc, key_doc, &in};
      if (!filter.matches(pin)) {
        out.what = verdict::drop;
        return;
      }
    }
    if (replace) {
      out.replaced_invalid = true;
      out.value_changed = true;
      out.value = arena.store(invalid_replacement);
      value_doc = nullptr;  // nothing of the original value is delivered
      if (key_invalid) {
        out.key_changed = true;
        out.key.reset();
      }
    }
    if (value_doc && !value_masks.empty()) {
      if (!mask_document(*value_doc, value_masks, s.edits, in.value, out.value, out.value_changed, arena)) {
        out.what = verdict::drop_invalid;
        return;
      }
    }
    if (whole_key_mask) {
      if (in.key) {
        std::string& dst = arena.scratch();
        switch (whole_key_mask->mask_bytes(*in.key, dst)) {
          case masking::field_mask::bytes_result::value:
            out.key = dst;
            out.key_changed = *in.key != dst;
            break;
          case masking::field_mask::bytes_result::null:
          case masking::field_mask::bytes_result::remove:
            out.key.reset();
            out.key_changed = true;
            break;
          case masking::field_mask::bytes_result::failed: out.what = verdict::drop_invalid; return;
        }
      }
    } else if (key_doc && !key_masks.empty()) {
      if (!mask_document(*key_doc, key_masks, s.edits, in.key, out.key, out.key_changed, arena)) {
        out.what = verdict::drop_invalid;
        return;
      }
    }
    if (!header_masks.empty() && !mask_headers(in, out, arena)) {
      out.what = verdict::drop_invalid;
      return;
    }
  }

 private:
  // Applies masks to one document; sets result/changed when the bytes differ. false: a mask
  // could not be computed.
  static bool mask_document(const json::json_doc& doc, const std::vector<json_mask>& masks, json::json_edits& edits,
                            const std::optional<std::string_view>& original, std::optional<std::string_view>& result,
                            bool& changed, record_arena& arena) {
    edits.clear();
    bool ok = true;
    for (const json_mask& m : masks) {
      json::for_each_match(doc, m.field, json::match_mode::all, [&](std::uint32_t n) {
        if (m.fn.function() == mask_function::remove) {
          edits.remove(n, m.fn.priority());
          return false;
        }
        std::size_t begin = edits.text_buffer().size();
        if (!m.fn.mask_json(doc, n, edits.text_buffer())) {
          ok = false;
          return true;
        }
        edits.replace(n, begin, m.fn.priority());
        return false;
      });
      if (!ok) return false;
    }
    if (edits.empty()) return true;
    std::string& dst = arena.scratch();
    edits.apply(doc, dst);
    if (original && dst == *original) return true;  // the masks changed nothing
    result = dst;
    changed = true;
    return true;
  }

  bool mask_headers(const record_in& in, record_result& out, record_arena& arena) const {
    auto mask_for = [&](std::string_view name) -> const masking::field_mask* {
      for (const auto& h : header_masks)
        if (h.header == name) return &h.fn;
      return nullptr;
    };
    bool any = false;
    for (const auto& h : in.headers) any = any || mask_for(h.key);
    if (!any) return true;
    out.headers.clear();
    out.headers.reserve(in.headers.size());
    for (const auto& h : in.headers) {
      const masking::field_mask* m = mask_for(h.key);
      if (!m) {
        out.headers.push_back(h);
        continue;
      }
      if (m->function() == mask_function::remove) continue;
      if (m->function() == mask_function::null || !h.value) {  // a null value stays null
        out.headers.push_back({h.key, std::nullopt});
        continue;
      }
      std::string& dst = arena.scratch();
      if (m->mask_bytes(*h.value, dst) != masking::field_mask::bytes_result::value) return false;
      out.headers.push_back({h.key, std::string_view(dst)});
    }
    out.headers_changed = true;
    return true;
  }
};

std::string field_label(mask_target target, const std::string& field) {
  switch (target) {
    case mask_target::value: return "value field " + field;
    case mask_target::key: return field.empty() ? std::string("key") : "key field " + field;
    case mask_target::header: return "header " + field;
  }
  return field;
}

}  // namespace

std::string topic_view::share_key(const std::vector<const view_rule*>& rules,
                                  const config::principal_config& principal) {
  std::string key;
  for (const view_rule* rule : rules) {
    key += std::to_string(reinterpret_cast<std::uintptr_t>(rule));
    key += '|';
    if (rule->where.empty()) continue;
    auto tree = row_filter::parse_predicate(rule->where);
    if (!tree) return key + "unparsed|" + principal.name;  // compiles to an error: share nothing
    key += row_filter::principal_facts(*tree, principal);
    key += '|';
  }
  return key;
}

std::expected<std::shared_ptr<const topic_view>, std::string> topic_view::compile(
    const std::vector<const view_rule*>& rules, const config::principal_config& principal,
    const std::string& hash_key) {
  auto view = std::make_shared<compiled_view>();

  // Row filter: the AND of every where.
  row_filter::expr all;
  all.what = row_filter::expr::kind::and_;
  std::vector<std::string> where_texts;
  for (const view_rule* rule : rules) {
    if (rule->where.empty()) continue;
    auto tree = row_filter::parse_predicate(rule->where);
    if (!tree) {
      return std::unexpected(located(rule->where_at, "where: " + tree.error().message + " (at offset " +
                                                         std::to_string(tree.error().offset) + ")"));
    }
    all.children.push_back(std::move(*tree));
    where_texts.push_back(rule->where);
  }
  bool mentions_principal = row_filter::mentions_principal(all);
  if (!all.children.empty()) view->filter = row_filter::predicate::compile(all, principal);

  // Masks, in rule order.
  std::vector<std::string> mask_lines;
  for (const view_rule* rule : rules) {
    for (const mask_rule& mr : rule->masks) {
      const config::source_mark& at = mr.at.line > 0 ? mr.at : rule->at;
      auto fn = masking::field_mask::compile(mr, hash_key);
      if (!fn) return std::unexpected(located(at, fn.error()));
      std::string effect = fn->describe();
      if (mr.target == mask_target::header) {
        if (mr.header.empty()) return std::unexpected(located(at, "a header mask needs `header: NAME`"));
        mask_lines.push_back(field_label(mr.target, mr.header) + ": " + effect);
        auto same = std::find_if(view->header_masks.begin(), view->header_masks.end(),
                                 [&](const header_mask& h) { return h.header == mr.header; });
        if (same == view->header_masks.end())
          view->header_masks.push_back({mr.header, *fn});
        else if (fn->priority() > same->fn.priority())
          same->fn = *fn;
        continue;
      }
      if (mr.target == mask_target::key && mr.fields.empty()) {
        mask_lines.push_back(field_label(mr.target, "") + ": " + effect);
        if (!view->whole_key_mask || fn->priority() > view->whole_key_mask->priority()) view->whole_key_mask = *fn;
        continue;
      }
      if (mr.fields.empty()) return std::unexpected(located(at, "a value mask needs `field` or `fields`"));
      for (const std::string& field : mr.fields) {
        auto sel = json::parse_selector(field);
        if (!sel) {
          return std::unexpected(located(at, "field '" + field + "': " + sel.error().message + " (at offset " +
                                                 std::to_string(sel.error().offset) + ")"));
        }
        mask_lines.push_back(field_label(mr.target, field) + ": " + effect);
        auto& list = mr.target == mask_target::key ? view->key_masks : view->value_masks;
        list.push_back({std::move(*sel), *fn});
      }
    }
  }
  if (view->whole_key_mask) view->key_masks.clear();  // the whole key is masked anyway

  // Invalid JSON: drop wins over replace (any rule asking to drop is obeyed); otherwise the
  // first rule's replacement is delivered.
  bool all_replace = !rules.empty() && std::all_of(rules.begin(), rules.end(), [](const view_rule* r) {
    return r->on_invalid_json == invalid_json_action::replace;
  });
  if (all_replace) {
    view->on_invalid = invalid_json_action::replace;
    view->invalid_replacement = rules.front()->invalid_json_replacement;
  }
  view->needs_value_json = !view->value_masks.empty() || view->filter.reads_value();
  view->needs_key_json = !view->key_masks.empty() || view->filter.reads_key_json();

  // In plain words.
  auto& d = view->description;
  if (view->passthrough()) {
    d.push_back("rows: all records");
    d.push_back("fields: all, unchanged (no row filter, no masks)");
    return view;
  }
  std::string original;
  for (std::size_t k = 0; k < where_texts.size(); ++k) {
    if (k) original += " and ";
    original += where_texts.size() > 1 ? "(" + where_texts[k] + ")" : where_texts[k];
  }
  if (view->filter.always()) {
    d.push_back(where_texts.empty() ? "rows: all records"
                                    : "rows: all records (" + original + " holds for this principal)");
  } else if (view->filter.never()) {
    d.push_back("rows: none (" + original + " is never true for this principal)");
  } else {
    std::string line = "rows: only records where " + view->filter.str();
    if (mentions_principal) line += " (from " + original + ")";
    d.push_back(line);
  }
  for (auto& line : mask_lines) d.push_back(std::move(line));
  auto invalid_line = [&](const char* part, bool filter_reads) {
    std::string line = std::string("records whose ") + part + " is not JSON: ";
    if (view->on_invalid == invalid_json_action::drop)
      line += "dropped and counted";
    else if (filter_reads)
      line += "dropped and counted (the row filter needs its fields)";
    else
      line += std::string("delivered as ") + (view->invalid_replacement.empty() ? "an empty value" : view->invalid_replacement) +
              " and counted";
    d.push_back(line);
  };
  if (view->needs_value_json) invalid_line("value", view->filter.reads_value());
  if (view->needs_key_json) invalid_line("key", view->filter.reads_key_json());
  return view;
}

}  // namespace kgw::policies

#pragma once
// A view compiled for one (principal, topic): the row filter (every `where` of the applicable
// view rules, AND-ed, with principal.* references folded to constants) and the masks, over one
// parse of the record's JSON. Compiled once, then applied to every record of the topic that
// principal fetches. The per-record path parses no policy text.
// Threading: immutable after compile; shared by every worker thread (apply is const and keeps
// its per-call state in the caller's arena).
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "policies/view/view_config.h"
#include "policies/record.h"

namespace kgw::policies {

class topic_view : public record_stage {
 public:
  // rules: the view rules that apply to this principal and topic (already chosen by level, see
  // policies/view/view_config.h). Errors (a predicate that does not parse, a selector that does not
  // parse, `hash` without a hash_key) are "file:line:col: message".
  static std::expected<std::shared_ptr<const topic_view>, std::string> compile(
      const std::vector<const view_rule*>& rules, const config::principal_config& principal,
      const std::string& hash_key);

  // What makes two compiles of `rules` alike: the rules themselves (by address: one
  // configuration's) and the principal facts their filters read (row_filter::principal_facts).
  // Principals with equal keys get one compiled view, and so share governed batches.
  static std::string share_key(const std::vector<const view_rule*>& rules, const config::principal_config& principal);

  virtual ~topic_view() = default;

  // Nothing to do to any record (no filter, no mask): the gateway leaves batches untouched.
  bool passthrough() const override = 0;
  virtual bool filters() const = 0;  // has a row filter
  virtual bool masks() const = 0;    // has at least one mask

  // Decides about one record. out is reset by the callee; rewritten bytes live in arena.
  void apply(const record_in& in, record_result& out, record_arena& arena) const override = 0;

  // The effective view in plain words, one line per item: which rows, which fields and how
  // (for `kafka-gateway explain`).
  virtual std::vector<std::string> describe() const = 0;
};

}  // namespace kgw::policies

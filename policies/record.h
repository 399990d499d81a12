#pragma once
// One Kafka record as the policies see it: views into the decoded batch (key, value, headers,
// timestamp), and what a policy decided about it; record_stage is the one small interface every
// record policy (row filter and masks of a view, decryption) works through.
// Threading: plain values; a record_result's views point into the caller's record_arena.
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::policies {

struct record_header {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: a null header value
};

struct record_in {
  std::optional<std::string_view> key;    // nullopt: null key
  std::optional<std::string_view> value;  // nullopt: null value (tombstone)
  std::span<const record_header> headers;
  std::int64_t timestamp = -1;  // ms since the epoch (batch base timestamp + delta)
};

// Owns the bytes of rewritten keys, values and headers until the batch holding them is encoded.
// Strings live in a deque (earlier views stay valid while more are added); clear() keeps them
// and their capacity for the next batch, so a warm arena does not allocate per record.
class record_arena {
 public:
  std::string_view store(std::string_view s) {
    std::string& dst = scratch();
    dst.assign(s);
    return dst;
  }
  // An empty string to build in place, then view it.
  std::string& scratch() {
    if (used_ == strings_.size()) strings_.emplace_back();
    std::string& s = strings_[used_++];
    s.clear();
    return s;
  }
  void clear() { used_ = 0; }

 private:
  std::deque<std::string> strings_;
  std::size_t used_ = 0;
};

enum class verdict {
  keep,          // deliver (possibly rewritten: see the *_changed flags)
  drop,          // filtered out by the view's row filter
  drop_invalid,  // cannot be governed (value is not JSON on a masked/filtered topic, a field that
                 // does not decrypt): dropped, counted; on Produce the partition is refused (why)
  retry,         // cannot be decided now (a data key not known yet): the partition fails with a
                 // retriable error and the client asks again; nothing is delivered ungoverned
};

struct record_result {
  verdict what = verdict::keep;
  bool replaced_invalid = false;  // not JSON; delivered as the configured replacement (counted)
  bool key_changed = false, value_changed = false, headers_changed = false;
  std::optional<std::string_view> key, value;  // valid when key_changed / value_changed
  std::vector<record_header> headers;           // valid when headers_changed
  // Encryption: fields sealed (produce), opened, and that could not be opened (fetch).
  std::uint32_t sealed = 0, opened = 0, undecryptable = 0;
  std::string_view why;  // drop_invalid / retry: in words (static text or the arena)
  void reset() {
    what = verdict::keep;
    sealed = opened = undecryptable = 0;
    why = {};
    replaced_invalid = key_changed = value_changed = headers_changed = false;
    key.reset();
    value.reset();
    headers.clear();
  }
};

// What one policy does to each record of a topic's batches, compiled per (principal, topic). The
// record governor runs a topic's stages in order over one decode of each batch: fetch direction
// decrypt -> view (filter, masks); produce direction: encrypt.
// Threading: immutable; apply is const and keeps per-call state in the caller's arena.
class record_stage {
 public:
  virtual ~record_stage() = default;
  // Nothing to do to any record: batches stay as they are.
  virtual bool passthrough() const = 0;
  // Decides about one record. out is reset by the callee; rewritten bytes live in arena.
  virtual void apply(const record_in& in, record_result& out, record_arena& arena) const = 0;
  // Nonzero: apply() depends on nothing but the record and this stage, and no stage answers the
  // same number unless it decides exactly the same (a view shared by principals whose rules
  // compile alike). Governed batches are shared by it (policies/transform_cache.h). 0: never
  // shared (decryption: what it can open changes as keys come, rotate and are shredded).
  virtual std::uint64_t output_identity() const { return 0; }
};

// A fresh output identity: unique in the process, never 0, never reused.
std::uint64_t next_output_identity();

// Runs `stages` (at least one) in order on one record, each on what the ones before left, until
// one does not keep it; `result` is the outcome. next and staged_headers are scratch.
void run_stages(std::span<const record_stage* const> stages, const record_in& in, record_result& result,
                record_result& next, std::vector<record_header>& staged_headers, record_arena& arena);

}  // namespace kgw::policies

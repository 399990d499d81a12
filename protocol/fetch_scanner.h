#pragma once
// Walks a Fetch response (any version) as it streams through, without decoding its records:
// it says which bytes are structure and which are a records field's payload (opaque: relay or
// splice them unseen), and where the top-level tagged fields begin (from v16 they hold the
// KIP-951 node endpoints, the one place a Fetch response carries broker addresses). This is
// what lets a modern Fetch response keep cut-through and splice while its addresses are
// rewritten: only the structure between record payloads and the trailer pass through user code.
//
// With `tally`, it also says how many bytes of the response each topic took (its section: topic
// header, partition headers and records; chargeback and the audit trail for traffic no policy
// decodes). It then walks every version; and where nothing after a topic's header needs reading
// (the last topic, before v16: no node endpoints to rewrite) the rest of the body is one opaque
// step, so a single-topic response still splices whole. Records are not counted here (that would stop
// at every batch header and copy what is spliced today): the relay counts them from the offsets
// a consumer's next Fetch asks for.
//
// Resumable: next() parses one whole step from what is buffered or asks for more, never keeping
// half a step. Counts are checked against the bytes the body has left, so a hostile count
// cannot make it loop or allocate.
// Threading: a plain value, used by one session.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace kgw::protocol {

class fetch_scanner {
 public:
  enum class kind {
    structure,  // `bytes` bytes of structure were parsed at the position: forward them
    opaque,     // the next `bytes` bytes are a records payload (or, tallying one topic, the rest
                // of the body): forward them unread
    trailer,    // the rest of the body (`bytes` bytes, 0 before v12 or after such a rest) is the
                // top-level tagged fields
    need_more,  // buffer at least `bytes` bytes from the position, then call again
    failed,     // malformed: error() says why
  };
  struct step {
    kind what;
    std::size_t bytes;
  };

  // What one topic of the response took (tally on): its name (v0-12) or id (v13+), and bytes.
  struct topic_tally {
    std::string name;
    uuid id{};
    std::uint64_t bytes = 0;
  };

  // body_size: the frame after its 4-byte size, response header included. Before v12 the
  // trailer is empty (no tagged fields).
  fetch_scanner(std::int16_t version, std::size_t body_size, bool tally = false);

  // buffered: the bytes from position() on that have arrived. structure and opaque advance the
  // position by `bytes`; trailer, need_more and failed leave it.
  step next(bytes_view buffered);

  std::size_t position() const { return pos_; }
  std::size_t body_size() const { return size_; }
  const char* error() const { return error_; }
  // Per topic, in response order (tally on); complete once next() returned trailer.
  const std::vector<topic_tally>& tallies() const { return tallies_; }

  // Parses a tagged-field section that must fill `section` exactly, calling fn(tag, data) for
  // each field; why it is malformed (static text) when it is.
  template <class Fn>
  static std::expected<void, const char*> for_each_tag(bytes_view section, Fn&& fn);

 private:
  enum class state { header, top, topic, partition, payload, partition_tail, topic_tail, trailer, rest, done };
  step parse(bytes_view avail, bool complete);
  bool flexible() const { return version_ >= 12; }

  std::int16_t version_;
  std::size_t size_;
  std::size_t pos_ = 0;
  state state_ = state::header;
  std::uint32_t topics_left_ = 0, partitions_left_ = 0;
  std::size_t payload_ = 0;  // records bytes of the partition just parsed
  const char* error_ = nullptr;
  bool tally_ = false;
  std::vector<topic_tally> tallies_;
};

template <class Fn>
std::expected<void, const char*> fetch_scanner::for_each_tag(bytes_view section, Fn&& fn) {
  reader r(section);
  const std::uint32_t n = r.uvarint();
  if (r.ok() && n > r.remaining()) r.fail("tagged field count exceeds frame");
  std::uint32_t last = 0;
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    const std::uint32_t tag = r.uvarint();
    const std::uint32_t len = r.uvarint();
    if (r.ok() && i > 0 && tag <= last) r.fail("tagged fields out of order");
    last = tag;
    const bytes_view data = r.raw(len);
    if (r.ok()) fn(tag, data);
  }
  if (r.ok() && r.remaining() != 0) r.fail("bytes after the tagged fields");
  if (!r.ok()) return std::unexpected(r.error().what);
  return {};
}

}  // namespace kgw::protocol

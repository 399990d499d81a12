#pragma once
// Walks a Produce request (v3-v11) as it streams through, without reading its records: it says
// which bytes are structure (the header, topic and partition headers, and each record batch's
// header, its first 61 bytes) and which are opaque (the rest of each batch: relay or splice it unseen), and
// tallies per topic the bytes of its records fields and the records its batches declare. This is
// what lets a large Produce request be relayed as it arrives while metrics and the audit trail
// still count its traffic as walk_produce and count_records do on a whole request.
//
// Resumable: next() parses one whole step from what is buffered or asks for more, never keeping
// half a step. Counts and lengths are checked against the bytes the body has left, so a hostile
// count cannot make it loop or allocate. A records field whose batches do not add up (a length
// past its end) is opaque from there on, uncounted, as count_records stops there.
// Threading: a plain value, used by one session.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace kgw::protocol {

class produce_scanner {
 public:
  enum class kind {
    structure,  // `bytes` bytes of structure were parsed at the position: forward them
    opaque,     // the next `bytes` bytes are the rest of a record batch: forward them unread
    done,       // the whole body was walked
    need_more,  // buffer at least `bytes` bytes from the position, then call again
    failed,     // malformed: error() says why
  };
  struct step {
    kind what;
    std::size_t bytes;
  };
  struct topic_tally {
    std::string name;
    std::uint64_t bytes = 0;    // its records fields
    std::uint64_t records = 0;  // as count_records counts them
  };

  // version: 3-11. body_size: the frame after its 4-byte size, request
  // header included.
  produce_scanner(std::int16_t version, std::size_t body_size);

  // buffered: the bytes from position() on that have arrived. structure and opaque advance the
  // position by `bytes`; done, need_more and failed leave it.
  step next(bytes_view buffered);

  std::size_t position() const { return pos_; }
  const char* error() const { return error_; }
  // Per topic, in request order; complete once next() returned done.
  const std::vector<topic_tally>& tallies() const { return tallies_; }

 private:
  enum class state { header, topic, partition, batch, batch_body, records_rest, partition_tail, topic_tail, trailer, done };
  step parse(bytes_view avail, bool complete);
  bool flexible() const { return version_ >= 9; }

  std::int16_t version_;
  std::size_t size_;
  std::size_t pos_ = 0;
  state state_ = state::header;
  std::uint32_t topics_left_ = 0, partitions_left_ = 0;
  std::size_t records_left_ = 0;  // of the current records field, from the position
  std::size_t opaque_ = 0;        // batch_body / records_rest: bytes to hand out as opaque
  std::vector<topic_tally> tallies_;
  const char* error_ = nullptr;
};

}  // namespace kgw::protocol

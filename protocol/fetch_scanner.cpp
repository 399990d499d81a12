#include "protocol/fetch_scanner.h"

#include <algorithm>
#include <string_view>

namespace kgw::protocol {

namespace {

bool truncation(const reader& r) {
  const std::string_view what = r.error().what;
  return what == "truncated" || what == "truncated varint";
}

// Skips a tagged-field section; the reader fails if it is cut short.
void skip_tags(reader& r, std::size_t body_left) {
  const std::uint32_t n = r.uvarint();
  if (r.ok() && n > body_left) r.fail("tagged field count exceeds frame");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

// A compact array's element count (uvarint N+1; 0 is null, which none of these arrays may be).
std::uint32_t count(reader& r, std::size_t body_left) {
  const std::uint32_t n = r.uvarint();
  if (!r.ok()) return 0;
  if (n == 0) {
    r.fail("null array");
    return 0;
  }
  // Every element takes at least one byte of what the body has left.
  if (n - 1 > body_left) r.fail("array length exceeds frame");
  return n - 1;
}

}  // namespace

fetch_scanner::fetch_scanner(std::int16_t version, std::size_t body_size) : version_(version), size_(body_size) {}

fetch_scanner::step fetch_scanner::next(bytes_view buffered) {
  if (error_) return {kind::failed, 0};
  if (state_ == state::payload) {
    state_ = state::partition_tail;
    if (payload_ > 0) {
      pos_ += payload_;
      return {kind::opaque, payload_};
    }
  }
  const std::size_t left = size_ - pos_;
  if (state_ == state::trailer) return {kind::trailer, left};
  const bytes_view avail = buffered.subspan(0, std::min(buffered.size(), left));
  const step s = parse(avail, avail.size() == left);
  if (s.what == kind::structure) pos_ += s.bytes;
  return s;
}

fetch_scanner::step fetch_scanner::parse(bytes_view avail, bool complete) {
  reader r(avail);
  const std::size_t left = size_ - pos_;
  // Members change only once the whole step parsed: a step cut short is parsed again.
  state next = state_;
  std::uint32_t topics = topics_left_, partitions = partitions_left_;
  switch (state_) {
    case state::header:  // ResponseHeader v1: correlation id, tagged fields
      r.i32();
      skip_tags(r, left);
      next = state::top;
      break;
    case state::top:
      r.i32();  // throttle_time_ms
      r.i16();  // error_code
      r.i32();  // session_id
      topics = count(r, left);
      next = topics > 0 ? state::topic : state::trailer;
      break;
    case state::topic:
      if (version_ >= 13)
        r.read_uuid();
      else
        r.string(true);
      partitions = count(r, left);
      next = partitions > 0 ? state::partition : state::topic_tail;
      break;
    case state::partition: {
      r.i32();  // partition_index
      r.i16();  // error_code
      r.i64();  // high_watermark
      r.i64();  // last_stable_offset
      r.i64();  // log_start_offset
      const std::uint32_t aborted = r.uvarint();  // nullable: 0 is null
      if (r.ok() && aborted > 0 && aborted - 1 > left) r.fail("array length exceeds frame");
      for (std::uint32_t i = 1; i < aborted && r.ok(); ++i) {
        r.i64();  // producer_id
        r.i64();  // first_offset
        skip_tags(r, left);
      }
      r.i32();  // preferred_read_replica
      const std::uint32_t records = r.uvarint();  // nullable: 0 is null
      const std::size_t payload = records > 0 ? records - 1 : 0;
      if (r.ok() && payload > left - r.position()) r.fail("records length exceeds frame");
      if (r.ok()) payload_ = payload;
      next = state::payload;
      break;
    }
    case state::partition_tail:
      skip_tags(r, left);
      next = --partitions > 0 ? state::partition : state::topic_tail;
      break;
    case state::topic_tail:
      skip_tags(r, left);
      next = --topics > 0 ? state::topic : state::trailer;
      break;
    case state::payload:
    case state::trailer:
      break;  // handled in next()
  }
  if (!r.ok()) {
    // Cut short by the end of what arrived: wait for more. Cut short by the end of the body, or
    // wrong in itself: malformed.
    if (!complete && truncation(r)) return {kind::need_more, avail.size() + 1};
    error_ = r.error().what;
    return {kind::failed, 0};
  }
  state_ = next;
  topics_left_ = topics;
  partitions_left_ = partitions;
  return {kind::structure, r.position()};
}

}  // namespace kgw::protocol

#include "protocol/fetch_scanner.h"

#include <algorithm>
#include <string_view>

#include "protocol/scanner_support.h"

namespace kgw::protocol {

fetch_scanner::fetch_scanner(std::int16_t version, std::size_t body_size, bool tally)
    : version_(version), size_(body_size), tally_(tally) {}

fetch_scanner::step fetch_scanner::next(bytes_view buffered) {
  if (error_) return {kind::failed, 0};
  if (state_ == state::done) return {kind::trailer, 0};
  if (state_ == state::rest) {
    const std::size_t rest = size_ - pos_;
    pos_ = size_;
    tallies_.back().bytes += rest;
    state_ = state::done;
    return {kind::opaque, rest};
  }
  if (state_ == state::payload) {
    state_ = state::partition_tail;
    if (payload_ > 0) {
      pos_ += payload_;
      if (tally_) tallies_.back().bytes += payload_;
      return {kind::opaque, payload_};
    }
  }
  // Before v12 the tails are empty: no step for them.
  while (!flexible() && (state_ == state::partition_tail || state_ == state::topic_tail)) {
    if (state_ == state::partition_tail)
      state_ = --partitions_left_ > 0 ? state::partition : state::topic_tail;
    else
      state_ = --topics_left_ > 0 ? state::topic : state::trailer;
  }
  const std::size_t left = size_ - pos_;
  if (state_ == state::trailer) {
    if (!flexible() && left != 0) {
      error_ = "bytes after the last topic";
      return {kind::failed, 0};
    }
    return {kind::trailer, left};
  }
  const bytes_view avail = buffered.subspan(0, std::min(buffered.size(), left));
  const state was = state_;
  const step s = parse(avail, avail.size() == left);
  if (s.what != kind::structure) return s;
  pos_ += s.bytes;
  if (tally_ && was != state::header && was != state::top) tallies_.back().bytes += s.bytes;
  // One topic and no node endpoints to find (before v16): the rest of the body is that topic's,
  // relayed unread (spliced), its tagged fields included.
  if (tally_ && was == state::topic && topics_left_ == 1 && version_ < 16 && pos_ < size_) state_ = state::rest;
  return s;
}

fetch_scanner::step fetch_scanner::parse(bytes_view avail, bool complete) {
  reader r(avail);
  const std::size_t left = size_ - pos_;
  const bool flex = flexible();
  // Members change only once the whole step parsed: a step cut short is parsed again.
  state next = state_;
  std::uint32_t topics = topics_left_, partitions = partitions_left_;
  auto array = [&] { return scanning::array_length(r, flex, left); };
  switch (state_) {
    case state::header:  // ResponseHeader: correlation id (and tagged fields from v12)
      r.i32();
      if (flex) scanning::skip_tags(r, left);
      next = state::top;
      break;
    case state::top:
      if (version_ >= 1) r.i32();  // throttle_time_ms
      if (version_ >= 7) {
        r.i16();  // error_code
        r.i32();  // session_id
      }
      topics = array();
      next = topics > 0 ? state::topic : state::trailer;
      break;
    case state::topic: {
      uuid id{};
      std::string_view name;
      if (version_ >= 13)
        id = r.read_uuid();
      else
        name = r.string(flex);
      partitions = array();
      if (r.ok() && tally_) {
        auto& t = tallies_.emplace_back();
        t.name = name;
        t.id = id;
      }
      next = partitions > 0 ? state::partition : state::topic_tail;
      break;
    }
    case state::partition: {
      r.i32();  // partition_index
      r.i16();  // error_code
      r.i64();  // high_watermark
      if (version_ >= 4) r.i64();  // last_stable_offset
      if (version_ >= 5) r.i64();  // log_start_offset
      if (version_ >= 4) {
        // aborted_transactions, nullable
        const std::int64_t aborted = flex ? static_cast<std::int64_t>(r.uvarint()) - 1 : r.i32();
        if (r.ok() && aborted > static_cast<std::int64_t>(left)) r.fail("array length exceeds frame");
        for (std::int64_t i = 0; i < aborted && r.ok(); ++i) {
          r.i64();  // producer_id
          r.i64();  // first_offset
          if (flex) scanning::skip_tags(r, left);
        }
      }
      if (version_ >= 11) r.i32();  // preferred_read_replica
      const std::int64_t records = flex ? static_cast<std::int64_t>(r.uvarint()) - 1 : r.i32();  // nullable
      const std::size_t payload = records > 0 ? static_cast<std::size_t>(records) : 0;
      if (r.ok() && payload > left - r.position()) r.fail("records length exceeds frame");
      if (r.ok()) payload_ = payload;
      next = state::payload;
      break;
    }
    case state::partition_tail:
      scanning::skip_tags(r, left);
      next = --partitions > 0 ? state::partition : state::topic_tail;
      break;
    case state::topic_tail:
      scanning::skip_tags(r, left);
      next = --topics > 0 ? state::topic : state::trailer;
      break;
    case state::payload:
    case state::trailer:
    case state::rest:
    case state::done:
      break;  // handled in next()
  }
  if (!r.ok()) {
    // Cut short by the end of what arrived: wait for more. Cut short by the end of the body, or
    // wrong in itself: malformed.
    if (!complete && scanning::truncated(r)) return {kind::need_more, avail.size() + 1};
    error_ = r.error().what;
    return {kind::failed, 0};
  }
  state_ = next;
  topics_left_ = topics;
  partitions_left_ = partitions;
  return {kind::structure, r.position()};
}

}  // namespace kgw::protocol

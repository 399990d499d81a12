#include "protocol/produce_scanner.h"

#include <algorithm>
#include <string_view>

#include "protocol/api_keys.h"
#include "protocol/scanner_support.h"

namespace kgw::protocol {

namespace {

constexpr std::size_t batch_prefix = 12;   // base offset, batch length
constexpr std::size_t batch_header = 61;   // a v2 batch's header, up to its record count
constexpr std::size_t magic_at = 16, count_at = 57;

}  // namespace

produce_scanner::produce_scanner(std::int16_t version, std::size_t body_size) : version_(version), size_(body_size) {
  if (version < 3 || version > 11) error_ = "Produce version outside 3-11";
}

produce_scanner::step produce_scanner::next(bytes_view buffered) {
  if (error_) return {kind::failed, 0};
  if (state_ == state::done) return {kind::done, 0};
  if (state_ == state::batch_body || state_ == state::records_rest) {
    const std::size_t n = opaque_;
    pos_ += n;
    records_left_ -= n;
    opaque_ = 0;
    state_ = records_left_ > 0 ? state::batch : state::partition_tail;
    if (n > 0) return {kind::opaque, n};
  }
  // Before v9 the tails are empty: no step for them.
  while (!flexible() && (state_ == state::partition_tail || state_ == state::topic_tail || state_ == state::trailer)) {
    if (state_ == state::partition_tail) {
      state_ = --partitions_left_ > 0 ? state::partition : state::topic_tail;
    } else if (state_ == state::topic_tail) {
      state_ = --topics_left_ > 0 ? state::topic : state::trailer;
    } else {
      if (pos_ != size_) {
        error_ = "bytes after the last topic";
        return {kind::failed, 0};
      }
      state_ = state::done;
      return {kind::done, 0};
    }
  }
  const std::size_t left = size_ - pos_;
  const bytes_view avail = buffered.subspan(0, std::min(buffered.size(), left));
  const step s = parse(avail, avail.size() == left);
  if (s.what != kind::structure) return s;
  pos_ += s.bytes;
  if (state_ == state::done && pos_ != size_) {
    error_ = "bytes after the request's tagged fields";
    return {kind::failed, 0};
  }
  return s;
}

produce_scanner::step produce_scanner::parse(bytes_view avail, bool complete) {
  reader r(avail);
  const std::size_t left = size_ - pos_;
  const bool flex = flexible();
  // Members change only once the whole step parsed: a step cut short is parsed again.
  state next = state_;
  std::uint32_t topics = topics_left_, partitions = partitions_left_;
  std::size_t records = records_left_, opaque = 0;
  auto array = [&] { return scanning::array_length(r, flex, left); };
  switch (state_) {
    case state::header:
      r.skip(8);                 // api key, version, correlation id
      r.nullable_string(false);  // client id
      if (request_header_version(api::produce, version_) >= 2) scanning::skip_tags(r, left);
      r.nullable_string(flex);  // transactional id
      r.i16();                  // acks
      r.i32();                  // timeout
      topics = array();
      next = topics > 0 ? state::topic : state::trailer;
      break;
    case state::topic: {
      const std::string_view name = r.string(flex);
      partitions = array();
      if (r.ok()) tallies_.push_back({std::string(name), 0, 0});
      next = partitions > 0 ? state::partition : state::topic_tail;
      break;
    }
    case state::partition: {
      r.i32();  // index
      const std::int64_t n = flex ? static_cast<std::int64_t>(r.uvarint()) - 1 : r.i32();  // nullable
      const std::size_t payload = n > 0 ? static_cast<std::size_t>(n) : 0;
      if (r.ok() && payload > left - r.position()) r.fail("records length exceeds frame");
      if (r.ok()) tallies_.back().bytes += payload;
      records = payload;
      next = payload > 0 ? state::batch : state::partition_tail;
      break;
    }
    case state::batch: {
      // One entry of the records field, counted as count_records counts it: a v2 batch by its
      // header's record count, a pre-v2 message as one. An entry whose length does not fit the
      // field ends the counting: the rest of the field is opaque, nothing of it structure.
      std::size_t entry = 0;
      if (records >= batch_prefix) {
        reader h(r.raw(batch_prefix));
        if (!r.ok()) break;
        h.i64();
        const std::int32_t length = h.i32();
        if (length > 0 && static_cast<std::size_t>(length) <= records - batch_prefix)
          entry = batch_prefix + static_cast<std::size_t>(length);
      }
      if (entry == 0) {
        state_ = state::records_rest;
        records_left_ = records;
        opaque_ = records;
        return {kind::structure, 0};
      }
      const std::size_t head = std::min(entry, batch_header);
      r.skip(head - batch_prefix);
      if (!r.ok()) break;
      if (entry > magic_at) {
        const auto magic = static_cast<std::uint8_t>(avail[magic_at]);
        if (magic >= 2 && entry >= batch_header) {
          reader c(avail.subspan(count_at, 4));
          const std::int32_t count = c.i32();
          if (count > 0) tallies_.back().records += static_cast<std::uint64_t>(count);
        } else if (magic < 2) {
          tallies_.back().records += 1;
        }
      }
      records -= head;
      opaque = entry - head;
      next = state::batch_body;
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
    case state::trailer:
      scanning::skip_tags(r, left);
      next = state::done;
      break;
    case state::batch_body:
    case state::records_rest:
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
  records_left_ = records;
  opaque_ = opaque;
  return {kind::structure, r.position()};
}

}  // namespace kgw::protocol

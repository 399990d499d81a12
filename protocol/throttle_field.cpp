#include "protocol/throttle_field.h"

#include "protocol/api_keys.h"

namespace kgw::protocol {

namespace {

void skip_tags(reader& r) {
  const std::uint32_t n = r.uvarint();
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    r.uvarint();  // tag
    r.skip(r.uvarint());
  }
}

void skip_string(reader& r, bool compact) {
  const std::int64_t n = r.length(compact, false);
  if (n > 0) r.skip(static_cast<std::size_t>(n));
}

// Produce v9+ (flexible): the offset of throttle_time_ms within the body (correlation id first).
std::optional<std::size_t> produce_flexible(bytes_view body) {
  reader r(body);
  r.i32();  // correlation id
  skip_tags(r);
  const std::int32_t topics = r.array_length(true);
  for (std::int32_t t = 0; t < topics && r.ok(); ++t) {
    skip_string(r, true);
    const std::int32_t partitions = r.array_length(true);
    for (std::int32_t p = 0; p < partitions && r.ok(); ++p) {
      r.skip(4 + 2 + 8 + 8 + 8);  // index, error_code, base_offset, log_append_time_ms, log_start_offset
      const std::int32_t errors = r.array_length(true);
      for (std::int32_t e = 0; e < errors && r.ok(); ++e) {
        r.i32();
        skip_string(r, true);
        skip_tags(r);
      }
      skip_string(r, true);  // error_message
      skip_tags(r);          // current_leader (v10+) is a tagged field
    }
    skip_tags(r);
  }
  if (!r.ok() || r.remaining() < 4) return std::nullopt;
  return r.position();
}

// ApiVersions v1+ (header v0 always): the offset of throttle_time_ms within the body, after
// error_code and the api_keys array. An error answer (UNSUPPORTED_VERSION) is in v0's format,
// without it.
std::optional<std::size_t> api_versions(bytes_view body, bool flexible) {
  reader r(body);
  r.i32();  // correlation id
  if (r.i16() != 0) return std::nullopt;
  const std::int32_t keys = r.array_length(flexible);
  for (std::int32_t i = 0; i < keys && r.ok(); ++i) {
    r.skip(6);  // api_key, min_version, max_version
    if (flexible) skip_tags(r);
  }
  if (!r.ok() || r.remaining() < 4) return std::nullopt;
  return r.position();
}

}  // namespace

std::optional<std::size_t> throttle_offset(std::int16_t api_key, std::int16_t version, bytes_view frame) {
  const throttle_place place = throttle_place_of(api_key, version);
  if (!place.present || frame.size() < 8) return std::nullopt;
  const std::size_t declared = static_cast<std::size_t>(static_cast<std::uint32_t>(
      (static_cast<std::uint32_t>(frame[0]) << 24) | (static_cast<std::uint32_t>(frame[1]) << 16) |
      (static_cast<std::uint32_t>(frame[2]) << 8) | static_cast<std::uint32_t>(frame[3])));
  if (place.after < 0) {
    // Variable-size fields come first: walked in the whole response.
    if (frame.size() < declared + 4 || declared < 8) return std::nullopt;
    const bytes_view body = frame.subspan(4, declared);
    std::optional<std::size_t> in_body;
    if (api_key == api::produce)
      in_body = version < 9 ? std::optional<std::size_t>(declared - 4) : produce_flexible(body);
    else if (api_key == api::api_versions)
      in_body = api_versions(body, version >= 3);
    if (!in_body) return std::nullopt;
    return 4 + *in_body;
  }
  std::size_t at = 8;
  if (place.header_tags) {
    reader r(frame.subspan(8));
    skip_tags(r);
    if (!r.ok()) return std::nullopt;
    at += r.position();
  }
  at += static_cast<std::size_t>(place.after);
  if (at + 4 > frame.size() || at + 4 > declared + 4) return std::nullopt;
  return at;
}

std::int32_t raise_throttle(std::span<std::byte> frame, std::size_t offset, std::int32_t ms) {
  std::byte* p = frame.data() + offset;
  const auto now = static_cast<std::int32_t>((static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
                                             (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]));
  if (ms <= now) return now;
  const auto v = static_cast<std::uint32_t>(ms);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
  return ms;
}

}  // namespace kgw::protocol

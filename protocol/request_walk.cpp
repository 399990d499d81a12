#include "protocol/request_walk.h"

#include "protocol/api_keys.h"

namespace kgw::protocol {

namespace {

void skip_tags(reader& r) {
  const std::uint32_t n = r.uvarint();
  if (r.ok() && n > r.remaining()) r.fail("tagged field count exceeds frame");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

}  // namespace

std::optional<std::optional<std::string_view>> request_client_id(bytes_view body) {
  reader r(body);
  r.skip(8);  // api key, version, correlation id
  auto id = r.nullable_string(false);  // a non-compact string in every header version
  if (!r.ok()) return std::nullopt;
  return id;
}

std::expected<void, const char*> walk_produce(std::int16_t version, bytes_view body,
                                              const std::function<void(std::string_view, bytes_view)>& fn) {
  const bool flex = version >= 9;
  reader r(body);
  r.skip(8);
  r.nullable_string(false);  // client id
  if (protocol::request_header_version(api::produce, version) >= 2) skip_tags(r);
  if (version >= 3) r.nullable_string(flex);  // transactional id
  r.i16();                                    // acks
  r.i32();                                    // timeout
  const std::int32_t topics = r.array_length(flex);
  for (std::int32_t t = 0; t < topics && r.ok(); ++t) {
    const std::string_view name = r.string(flex);
    const std::int32_t partitions = r.array_length(flex);
    for (std::int32_t p = 0; p < partitions && r.ok(); ++p) {
      r.i32();  // index
      const auto records = r.nullable_bytes(flex);
      if (r.ok() && records && !records->empty()) fn(name, *records);
      if (flex) skip_tags(r);
    }
    if (flex) skip_tags(r);
  }
  if (flex) skip_tags(r);
  if (!r.ok()) return std::unexpected(r.error().what);
  return {};
}

std::expected<void, const char*> walk_fetch(
    std::int16_t version, bytes_view body,
    const std::function<void(std::string_view, const uuid&, std::int32_t, std::int64_t)>& fn) {
  const bool flex = version >= 12;
  reader r(body);
  r.skip(8);
  r.nullable_string(false);  // client id
  if (flex) skip_tags(r);
  if (version <= 14) r.i32();  // replica_id (v15+: a tagged field)
  r.i32();                     // max_wait_ms
  r.i32();                     // min_bytes
  if (version >= 3) r.i32();   // max_bytes
  if (version >= 4) r.i8();    // isolation_level
  if (version >= 7) {
    r.i32();  // session_id
    r.i32();  // session_epoch
  }
  const std::int32_t topics = r.array_length(flex);
  for (std::int32_t t = 0; t < topics && r.ok(); ++t) {
    std::string_view name;
    uuid id{};
    if (version >= 13)
      id = r.read_uuid();
    else
      name = r.string(flex);
    const std::int32_t partitions = r.array_length(flex);
    for (std::int32_t p = 0; p < partitions && r.ok(); ++p) {
      const std::int32_t partition = r.i32();
      if (version >= 9) r.i32();  // current_leader_epoch
      const std::int64_t offset = r.i64();
      if (version >= 12) r.i32();  // last_fetched_epoch
      if (version >= 5) r.i64();   // log_start_offset
      r.i32();                     // partition_max_bytes
      if (flex) skip_tags(r);
      if (r.ok()) fn(name, id, partition, offset);
    }
    if (flex) skip_tags(r);
  }
  if (!r.ok()) return std::unexpected(r.error().what);
  return {};
}

}  // namespace kgw::protocol

#include "policies/record_governor.h"

#include <algorithm>

#include "policies/record.h"
#include "policies/transform_cache.h"
#include "policies/validation/record_validator.h"
#include "protocol/crc32c.h"
#include "protocol/errors.h"
#include "protocol/record_batch.h"

namespace kgw::policies {
namespace proto = kgw::protocol;
using policies::tally;

namespace {
// A batch never inflates beyond this when decompressed (Kafka's default max.message.bytes is
// 1 MiB compressed; 64 MiB of plain records leaves room for good compression ratios).
constexpr std::size_t max_uncompressed_batch = 64u * 1024 * 1024;

std::string_view text(proto::bytes_view b) { return proto::as_string(b); }
std::optional<std::string_view> text(const std::optional<proto::bytes_view>& b) {
  if (!b) return std::nullopt;
  return proto::as_string(*b);
}
std::optional<proto::bytes_view> bytes(const std::optional<std::string_view>& s) {
  if (!s) return std::nullopt;
  return proto::as_bytes(*s);
}

// A partition whose records field holds batches but not one record breaks kafka-python 2.0.2
// (Debian's): its fetcher takes the last record of what it unpacked (IndexError on none), after
// it already advanced other partitions' positions in the same poll and before it returned their
// records, which are then lost (dpkp/kafka-python#2132). Such a field gets this batch in front:
// a control batch at offset -1 holding one COMMIT marker, with no producer id. Every client
// skips records below its fetch offset, so nothing is delivered and no transaction state is
// touched (producer id -1: read_committed consumers see no marker for any producer); the
// batches after it still end where the removed records ended, so consumers move past them.
// Checked against kafka-python 2.0.2, librdkafka 2.0.2 and the Java consumer's
// CompletedFetch: all three skip it and advance.
bool prepend_skip_marker(std::vector<std::byte>& out) {
  static const std::byte marker_key[] = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}};  // v0, COMMIT
  static const std::byte marker_value[6] = {};  // v0, coordinator epoch 0
  proto::batch_header h;
  h.base_offset = -1;
  h.attributes = proto::batch_control_bit;
  h.base_timestamp = h.max_timestamp = 0;
  proto::record_to_write marker;
  marker.key = proto::bytes_view(marker_key);
  marker.value = proto::bytes_view(marker_value);
  std::vector<std::byte> batch;
  if (!proto::encode_batch(h, false, std::span(&marker, 1), batch)) return false;
  out.insert(out.begin(), batch.begin(), batch.end());
  return true;
}
}  // namespace

std::uint64_t next_output_identity() {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

void run_stages(std::span<const record_stage* const> stages, const record_in& in, record_result& result,
                record_result& next, std::vector<record_header>& staged_headers, record_arena& arena) {
  stages[0]->apply(in, result, arena);
  for (std::size_t k = 1; k < stages.size() && result.what == verdict::keep; ++k) {
    record_in now = in;
    if (result.key_changed) now.key = result.key;
    if (result.value_changed) now.value = result.value;
    if (result.headers_changed) {
      staged_headers = result.headers;
      now.headers = staged_headers;
    }
    stages[k]->apply(now, next, arena);
    result.what = next.what;
    result.replaced_invalid |= next.replaced_invalid;
    result.sealed += next.sealed;
    result.opened += next.opened;
    result.undecryptable += next.undecryptable;
    if (!next.why.empty()) result.why = next.why;
    if (next.key_changed) result.key_changed = true, result.key = next.key;
    if (next.value_changed) result.value_changed = true, result.value = next.value;
    if (next.headers_changed) result.headers_changed = true, result.headers = next.headers;
  }
}

struct record_governor::scratch {
  std::vector<proto::records_entry> entries;
  proto::decoded_batch batch;
  std::vector<policies::record_header> headers;     // one record's headers, as the policies see them
  std::vector<proto::record_to_write> to_write;
  std::vector<proto::record_header_bytes> out_headers;  // rewritten headers of all kept records
  std::vector<std::pair<std::size_t, std::size_t>> header_ranges;  // per to_write entry, into out_headers
  policies::record_result result;
  policies::record_result next;   // a later stage's decision, folded into result
  std::vector<policies::record_header> staged_headers;  // a later stage's input headers
  policies::record_arena arena;

  void apply(std::span<const record_stage* const> stages, const policies::record_in& in) {
    run_stages(stages, in, result, next, staged_headers, arena);
  }

  // Adds record r to to_write as the stages left it (result); whether they changed it.
  bool keep(const proto::record_view& r) {
    const auto& res = result;
    proto::record_to_write w;
    w.attributes = r.attributes;
    w.timestamp_delta = r.timestamp_delta;
    w.offset_delta = r.offset_delta;
    w.key = res.key_changed ? bytes(res.key) : r.key;
    w.value = res.value_changed ? bytes(res.value) : r.value;
    const std::size_t first = out_headers.size();
    if (res.headers_changed) {
      for (const auto& h : res.headers) out_headers.push_back({proto::as_bytes(h.key), bytes(h.value)});
    } else {
      for (std::uint32_t i = 0; i < r.header_count; ++i) out_headers.push_back(batch.headers[r.first_header + i]);
    }
    header_ranges.emplace_back(first, out_headers.size() - first);
    to_write.push_back(w);
    return res.key_changed || res.value_changed || res.headers_changed;
  }
  // Header spans are bound only once every record is in: out_headers may move while it grows.
  void bind_headers() {
    for (std::size_t i = 0; i < to_write.size(); ++i)
      to_write[i].headers = std::span<const proto::record_header_bytes>(out_headers)
                                .subspan(header_ranges[i].first, header_ranges[i].second);
  }
  void start_batch() {
    arena.clear();
    to_write.clear();
    out_headers.clear();
    header_ranges.clear();
  }

  // Fills `headers` with record r's headers; returns the record as the policies see it.
  policies::record_in view_of(const proto::record_view& r) {
    headers.clear();
    for (std::uint32_t i = 0; i < r.header_count; ++i) {
      const auto& h = batch.headers[r.first_header + i];
      headers.push_back({text(h.key), text(h.value)});
    }
    policies::record_in in;
    in.key = text(r.key);
    in.value = text(r.value);
    in.headers = headers;
    in.timestamp = batch.header.log_append_time() ? batch.header.max_timestamp
                                                  : batch.header.base_timestamp + r.timestamp_delta;
    return in;
  }
};

record_governor::record_governor() : s_(std::make_unique<scratch>()) {}
record_governor::~record_governor() = default;

namespace {
// The key a batch's governed form is shared under, if the stages allow it (each has an output
// identity; at most two of them, which covers every chain the registry builds today).
std::optional<batch_key> sharing_key(std::span<const record_stage* const> stages, const proto::records_entry& e,
                                     std::int32_t partition) {
  if (stages.size() > 2 || e.bytes.size() < proto::batch_crc_start || e.bytes.size() > 0xffffffffu)
    return std::nullopt;
  batch_key k;
  for (std::size_t i = 0; i < stages.size(); ++i)
    if ((k.stages[i] = stages[i]->output_identity()) == 0) return std::nullopt;
  k.base_offset = e.base_offset;
  k.partition = partition;
  k.length = static_cast<std::uint32_t>(e.bytes.size());
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = v << 8 | std::to_integer<std::uint32_t>(e.bytes[at + i]);
    return v;
  };
  k.crc = be32(proto::batch_crc_offset);
  k.leader_epoch = static_cast<std::int32_t>(be32(12));  // after base offset (8) and length (4)
  // The bytes must be the ones the CRC stands for, as decoding checks: a corrupt batch is never
  // answered from the cache, it fails its partition.
  if (proto::crc32c(e.bytes.subspan(proto::batch_crc_start)) != k.crc) return std::nullopt;
  return k;
}
}  // namespace

std::expected<bool, record_governor::failure> record_governor::govern_batch(const proto::records_entry& e,
                                                                            std::span<const record_stage* const> stages,
                                                                            std::vector<std::byte>& out,
                                                                            policies::tally_counts& counts) {
  auto& s = *s_;
  auto corrupt = [](std::string why) { return std::unexpected(failure{proto::kafka_error::corrupt_message, std::move(why)}); };
  s.start_batch();
  bool batch_changed = false;
  std::uint64_t delivered = 0, filtered = 0, masked = 0, invalid_dropped = 0, invalid_replaced = 0, opened = 0,
                undecryptable = 0, undecryptable_dropped = 0;
  for (const auto& r : s.batch.records) {
    s.apply(stages, s.view_of(r));
    const auto& res = s.result;
    opened += res.opened;
    undecryptable += res.undecryptable;
    if (res.what == policies::verdict::retry) {
      // Nothing of this partition now; the client fetches the same offset again.
      policies::add(counts, tally::fields_decrypted, opened);
      policies::add(counts, tally::fields_undecryptable, undecryptable);
      return std::unexpected(failure{proto::kafka_error::kafka_storage_error,
                                     "record at offset " + std::to_string(s.batch.header.base_offset + r.offset_delta) +
                                         ": " + std::string(res.why)});
    }
    if (res.what == policies::verdict::drop) {
      ++filtered;
      batch_changed = true;
      continue;
    }
    if (res.what == policies::verdict::drop_invalid) {
      ++(res.undecryptable ? undecryptable_dropped : invalid_dropped);
      batch_changed = true;
      continue;
    }
    ++delivered;
    if (res.replaced_invalid) ++invalid_replaced;
    if (s.keep(r)) {
      ++masked;
      batch_changed = true;
    }
  }
  policies::add(counts, tally::records_delivered, delivered);
  policies::add(counts, tally::fields_decrypted, opened);
  policies::add(counts, tally::fields_undecryptable, undecryptable);
  policies::add(counts, tally::records_undecryptable_dropped, undecryptable_dropped);
  policies::add(counts, tally::records_filtered, filtered);
  policies::add(counts, tally::records_masked, masked);
  policies::add(counts, tally::records_invalid_dropped, invalid_dropped);
  policies::add(counts, tally::records_invalid_replaced, invalid_replaced);
  if (!batch_changed) {
    out.insert(out.end(), e.bytes.begin(), e.bytes.end());
    return false;
  }
  s.bind_headers();
  proto::batch_header like = s.batch.header;
  if (s.to_write.empty()) {
    // Every record removed: an empty batch keeps the batch's offsets so the consumer moves
    // past them (as after compaction, KAFKA-5443). It goes uncompressed, and marked as a
    // control batch: clients skip those without looking for records, whereas a response
    // holding only empty data batches makes librdkafka think its fetch size is too small
    // (it doubles it, then reports MSG_SIZE_TOO_LARGE) and an empty compressed payload
    // trips its decompressor.
    like.attributes = static_cast<std::int16_t>(
        (like.attributes & (proto::batch_timestamp_type_bit | proto::batch_transactional_bit)) |
        proto::batch_control_bit);
  }
  if (auto r = proto::encode_batch(like, s.batch.snappy_xerial, s.to_write, out); !r) {
    policies::add(counts, policies::tally::corrupt_batches);
    return corrupt("re-encoding batch at offset " + std::to_string(e.base_offset) + ": " + r.error());
  }
  policies::add(counts, tally::batches_rewritten);
  return true;
}

std::expected<record_governor::outcome, record_governor::failure> record_governor::govern(
    proto::bytes_view records, std::span<const record_stage* const> stages, std::vector<std::byte>& out,
    policies::tally_counts& counts, bool v2_allowed, const sharing* shared) {
  if (stages.empty()) return outcome::unchanged;
  auto corrupt = [](std::string why) { return std::unexpected(failure{proto::kafka_error::corrupt_message, std::move(why)}); };
  const char* const legacy_batch_failed = "cannot write the batch standing for legacy message sets";
  auto& s = *s_;
  proto::split_records(records, s.entries);
  bool changed = false;
  std::uint64_t legacy = 0;
  std::uint64_t records_out = 0;  // records of control batches passed on (transaction markers)
  policies::tally_counts batches{};  // what the data batches counted, this call's
  out.clear();
  out.reserve(records.size());
  // A run of dropped legacy entries becomes one empty control batch ending at the run's last
  // offset, so the consumer moves past them as past an emptied batch (else it would fetch the
  // same offset forever).
  bool in_legacy_run = false;
  std::int64_t legacy_first = 0, legacy_last = 0;
  auto close_legacy_run = [&] {
    if (!in_legacy_run) return true;
    in_legacy_run = false;
    proto::batch_header h;
    h.base_offset = legacy_first;
    h.last_offset_delta = static_cast<std::int32_t>(legacy_last - legacy_first);
    h.attributes = proto::batch_control_bit;
    return proto::encode_batch(h, false, {}, out).has_value();
  };
  // A failed partition delivers nothing: of what its batches counted, only the corrupt batch and
  // the fields opened (or not) before it stand.
  auto fail = [&](failure f) {
    for (tally t : {tally::corrupt_batches, tally::fields_decrypted, tally::fields_undecryptable})
      policies::add(counts, t, batches[static_cast<std::size_t>(t)]);
    return std::unexpected(std::move(f));
  };
  for (const auto& e : s.entries) {
    if (e.what == proto::records_entry::kind::legacy) {
      if (!v2_allowed) {
        // Fetch v0-3 cannot carry the batches a governed view writes.
        return std::unexpected(failure{proto::kafka_error::unsupported_version,
                                       "message format v" + std::to_string(e.magic) + " at offset " +
                                           std::to_string(e.base_offset) + " on a governed topic needs Fetch v4 or newer"});
      }
      ++legacy;
      changed = true;
      // A v0/v1 entry's offset is its last (inner) offset.
      if (!in_legacy_run || e.base_offset - legacy_first > 0x7fffffff) {
        if (!close_legacy_run()) return corrupt(legacy_batch_failed);
        in_legacy_run = true;
        legacy_first = legacy_last = e.base_offset;
      }
      legacy_last = std::max(legacy_last, e.base_offset);
      continue;
    }
    if (!close_legacy_run()) return corrupt(legacy_batch_failed);
    if (e.what == proto::records_entry::kind::truncated) {
      // The broker cut the last batch at max_bytes; the consumer fetches it again whole.
      changed = true;
      continue;
    }
    // Governed already for stages that decide alike? Control batches are never in the cache
    // (they pass as they are), nor are batches that failed.
    std::optional<batch_key> key;
    if (shared && shared->cache) key = sharing_key(stages, e, shared->partition);
    if (key) {
      if (const auto hit = shared->cache->find(*key, e.bytes, out, batches); hit != transform_cache::found::no) {
        policies::add(batches, tally::batches_shared);
        changed |= hit == transform_cache::found::rewritten;
        continue;
      }
    }
    if (auto r = proto::decode_batch(e.bytes, s.batch, max_uncompressed_batch, key.has_value()); !r) {
      policies::add(batches, policies::tally::corrupt_batches);
      return fail(failure{proto::kafka_error::corrupt_message, "batch at offset " + std::to_string(e.base_offset) + ": " + r.error()});
    }
    if (s.batch.header.control()) {
      out.insert(out.end(), e.bytes.begin(), e.bytes.end());
      records_out += s.batch.records.size();
      continue;
    }
    policies::tally_counts one{};
    const std::size_t before = out.size();
    auto r = govern_batch(e, stages, out, one);
    for (std::size_t i = 0; i < one.size(); ++i) batches[i] += one[i];
    if (!r) return fail(std::move(r.error()));
    if (key) shared->cache->insert(*key, !*r, std::span(out).subspan(before), one);
    changed |= *r;
  }
  if (!close_legacy_run()) return corrupt(legacy_batch_failed);
  if (changed && batches[static_cast<std::size_t>(tally::records_delivered)] + records_out == 0 && !out.empty() &&
      !prepend_skip_marker(out))
    return corrupt("cannot write the batch that lets consumers skip removed records");
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += batches[i];
  policies::add(counts, tally::legacy_batches_dropped, legacy);
  return changed ? outcome::rewritten : outcome::unchanged;
}

std::expected<record_governor::outcome, record_governor::failure> record_governor::rewrite_produce(
    proto::bytes_view records, std::span<const record_stage* const> stages, std::vector<std::byte>& out,
    policies::tally_counts& counts) {
  auto& s = *s_;
  auto refuse = [&](std::int16_t error, std::string why) {
    policies::add(counts, tally::produce_rejected);
    return std::unexpected(failure{error, std::move(why)});
  };
  proto::split_records(records, s.entries);
  out.clear();
  out.reserve(records.size() + records.size() / 2);
  bool changed = false;
  std::uint64_t sealed = 0;
  for (const auto& e : s.entries) {
    if (e.what == proto::records_entry::kind::truncated)
      return refuse(proto::kafka_error::corrupt_message, "truncated record batch");
    if (e.what == proto::records_entry::kind::legacy)
      return refuse(proto::kafka_error::invalid_record, "message format v" + std::to_string(e.magic) +
                                                            " cannot be governed (record batch v2 required)");
    if (auto r = proto::decode_batch(e.bytes, s.batch, max_uncompressed_batch); !r)
      return refuse(proto::kafka_error::corrupt_message, r.error());
    if (s.batch.header.control()) {  // not a client's to write; the broker answers it
      out.insert(out.end(), e.bytes.begin(), e.bytes.end());
      continue;
    }
    s.start_batch();
    bool batch_changed = false;
    for (const auto& r : s.batch.records) {
      s.apply(stages, s.view_of(r));
      const auto& res = s.result;
      if (res.what == policies::verdict::retry)
        return std::unexpected(failure{proto::kafka_error::kafka_storage_error, std::string(res.why)});
      if (res.what != policies::verdict::keep)
        return refuse(proto::kafka_error::invalid_record,
                      "record at offset delta " + std::to_string(r.offset_delta) + ": " + std::string(res.why));
      sealed += res.sealed;
      batch_changed |= s.keep(r);
    }
    if (!batch_changed) {
      out.insert(out.end(), e.bytes.begin(), e.bytes.end());
      continue;
    }
    s.bind_headers();
    // Same codec, producer id, epoch, sequence and transactional flag: the broker's idempotence
    // and transactions see the batch the client sent, with new record contents.
    if (auto r = proto::encode_batch(s.batch.header, s.batch.snappy_xerial, s.to_write, out); !r)
      return refuse(proto::kafka_error::corrupt_message, "re-encoding a batch: " + r.error());
    changed = true;
  }
  policies::add(counts, tally::fields_encrypted, sealed);
  return changed ? outcome::rewritten : outcome::unchanged;
}

std::expected<void, std::string> record_governor::validate(proto::bytes_view records,
                                                           const policies::record_validator& validator,
                                                           policies::tally_counts& counts) {
  auto& s = *s_;
  proto::split_records(records, s.entries);
  for (const auto& e : s.entries) {
    if (e.what == proto::records_entry::kind::truncated) return std::unexpected(std::string("truncated record batch"));
    if (e.what == proto::records_entry::kind::legacy)
      return std::unexpected("message format v" + std::to_string(e.magic) +
                             " cannot be validated (record batch v2 required)");
    if (auto r = proto::decode_batch(e.bytes, s.batch, max_uncompressed_batch); !r) return r;
    if (s.batch.header.control()) continue;
    for (const auto& r : s.batch.records) {
      if (auto ok = validator.check(s.view_of(r)); !ok) {
        policies::add(counts, policies::tally::produce_rejected);
        return std::unexpected("record at offset delta " + std::to_string(r.offset_delta) + ": " + ok.error());
      }
    }
  }
  return {};
}

}  // namespace kgw::policies

// The record-batch reader invariants (record_batch_checks.h).
#include "record_batch_checks.h"

#include <cstring>
#include <random>
#include <stdexcept>

#include "protocol/crc32c.h"

namespace kgw::protocol::testing {

namespace {

bool inside(bytes_view part, bytes_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}
bool inside_either(bytes_view part, bytes_view a, bytes_view b) { return inside(part, a) || inside(part, b); }

bool same(const std::optional<bytes_view>& a, const std::optional<bytes_view>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->size() == b->size() && (a->empty() || std::memcmp(a->data(), b->data(), a->size()) == 0));
}

// A decoded batch is consistent and, encoded again with its own header, decodes to the same records.
void check_decoded(bytes_view input, const decoded_batch& d, fuzz_stats& st) {
  if (d.records.size() != static_cast<std::size_t>(d.header.record_count)) st.problem("record count differs");
  std::size_t header_total = 0;
  for (const auto& r : d.records) {
    if ((r.key && !inside_either(*r.key, input, d.plain)) || (r.value && !inside_either(*r.value, input, d.plain)))
      st.problem("record view outside the buffers");
    if (r.first_header + static_cast<std::size_t>(r.header_count) > d.headers.size()) st.problem("header range");
    header_total += r.header_count;
    for (const auto& h : r.headers_in(d.headers))
      if (!inside_either(h.key, input, d.plain) || (h.value && !inside_either(*h.value, input, d.plain)))
        st.problem("header view outside the buffers");
  }
  if (header_total != d.headers.size()) st.problem("header total differs");

  std::vector<std::vector<record_header_bytes>> hs;
  std::vector<record_to_write> w;
  for (const auto& r : d.records) {
    auto range = r.headers_in(d.headers);
    hs.emplace_back(range.begin(), range.end());
  }
  for (std::size_t i = 0; i < d.records.size(); ++i) {
    const auto& r = d.records[i];
    w.push_back({r.attributes, r.timestamp_delta, r.offset_delta, r.key, r.value, hs[i]});
  }
  std::vector<std::byte> again;
  auto e = encode_batch(d.header, d.snappy_xerial, w, again);
  if (!e) return st.problem("re-encode failed: " + e.error());
  decoded_batch d2;
  auto r2 = decode_batch(again, d2, batch_check_limit * 2);
  if (!r2) return st.problem("re-decode failed: " + r2.error());
  if (d2.records.size() != d.records.size()) return st.problem("re-decode count differs");
  for (std::size_t i = 0; i < d.records.size(); ++i) {
    const auto &a = d.records[i], &b = d2.records[i];
    if (a.attributes != b.attributes || a.timestamp_delta != b.timestamp_delta || a.offset_delta != b.offset_delta ||
        !same(a.key, b.key) || !same(a.value, b.value) || a.header_count != b.header_count)
      return st.problem("re-decoded record " + std::to_string(i) + " differs");
    auto ha = a.headers_in(d.headers);
    auto hb = b.headers_in(d2.headers);
    for (std::size_t k = 0; k < ha.size(); ++k)
      if (!same(ha[k].key, hb[k].key) || !same(ha[k].value, hb[k].value))
        return st.problem("re-decoded header of record " + std::to_string(i) + " differs");
  }
}

}  // namespace

std::string fuzz_stats::report() const {
  std::string s = std::to_string(inputs) + " inputs, " + std::to_string(decoded) + " decoded, " +
                  std::to_string(failed) + " clean errors";
  for (const auto& p : problems) s += "\n  problem: " + p;
  return s;
}

void check_batch_readers(bytes_view input, fuzz_stats& st, decoded_batch& d, std::vector<records_entry>& entries) {
  ++st.inputs;

  split_records(input, entries);
  std::size_t pos = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (e.bytes.data() != input.data() + pos || e.bytes.empty()) st.problem("entries not contiguous");
    pos += e.bytes.size();
    if (e.what == records_entry::kind::truncated && i + 1 != entries.size()) st.problem("truncated not last");
    if (e.what == records_entry::kind::batch_v2 && e.magic != 2) st.problem("v2 entry without magic 2");
    if (e.what == records_entry::kind::legacy && e.magic != 0 && e.magic != 1) st.problem("legacy magic");
  }
  if (pos != input.size()) st.problem("entries do not cover the input");

  if (auto h = read_batch_header(input)) {
    if (h->magic != 2 || static_cast<std::size_t>(h->batch_length) + 12 != input.size() || h->record_count < 0)
      st.problem("read_batch_header accepted an inconsistent header");
  } else if (h.error().empty()) {
    st.problem("read_batch_header: empty error");
  }

  auto r = decode_batch(input, d, batch_check_limit);
  if (r) {
    ++st.decoded;
    check_decoded(input, d, st);
  } else {
    ++st.failed;
    if (r.error().empty() || r.error().find('\0') != std::string::npos) st.problem("unclean error message");
  }
}

std::vector<std::vector<std::byte>> valid_batches() {
  std::mt19937 rng(1234);
  std::vector<std::string> strings;
  for (int i = 0; i < 200; ++i) strings.push_back(std::string(rng() % 40, static_cast<char>('a' + i % 26)));
  auto make = [&](compression_codec c, bool xerial, std::size_t n) {
    std::vector<std::vector<record_header_bytes>> hs(n);
    std::vector<record_to_write> recs(n);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t h = 0; h < i % 3; ++h)
        hs[i].push_back({as_bytes(strings[rng() % 200]), h == 1 ? std::nullopt : std::optional(as_bytes(strings[rng() % 200]))});
      recs[i].timestamp_delta = static_cast<std::int64_t>(i) * 1000;
      recs[i].offset_delta = static_cast<std::int32_t>(i);
      if (i % 4 != 1) recs[i].key = as_bytes(strings[rng() % 200]);
      if (i % 5 != 2) recs[i].value = as_bytes(strings[rng() % 200]);
      recs[i].headers = hs[i];
    }
    batch_header h;
    h.base_offset = 1000;
    h.attributes = static_cast<std::int16_t>(static_cast<int>(c));
    h.last_offset_delta = static_cast<std::int32_t>(n ? n - 1 : 0);
    h.base_timestamp = h.max_timestamp = 1700000000000;
    std::vector<std::byte> out;
    if (auto e = encode_batch(h, xerial, recs, out); !e) throw std::runtime_error("valid_batches: " + e.error());
    return out;
  };
  std::vector<std::vector<std::byte>> batches;
  for (auto c : {compression_codec::none, compression_codec::gzip, compression_codec::snappy, compression_codec::lz4,
                 compression_codec::zstd})
    for (bool xerial : {false, true}) {
      if (xerial && c != compression_codec::snappy) continue;
      for (std::size_t n : {0u, 1u, 9u, 40u}) batches.push_back(make(c, xerial, n));
    }
  return batches;
}

void put_be32(std::vector<std::byte>& b, std::size_t pos, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[pos + i] = static_cast<std::byte>(v >> (24 - 8 * i));
}
void append_varint(std::vector<std::byte>& b, std::int32_t v) {
  std::uint32_t u = (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
  for (; u >= 0x80; u >>= 7) b.push_back(static_cast<std::byte>((u & 0x7f) | 0x80));
  b.push_back(static_cast<std::byte>(u));
}
void fix_crc(std::vector<std::byte>& b) {
  if (b.size() >= batch_v2_header_size)
    put_be32(b, batch_crc_offset, crc32c(bytes_view(b).subspan(batch_crc_start)));
}
void fix_length(std::vector<std::byte>& b) {
  if (b.size() >= 12) put_be32(b, 8, static_cast<std::uint32_t>(b.size() - 12));
}

}  // namespace kgw::protocol::testing

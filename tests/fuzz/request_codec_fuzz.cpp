// libFuzzer target: a request frame (without its size prefix), decoded as the gateway does,
// whatever API and version its header names. Properties:
// - a request that decodes to its last byte re-encodes (header + message) to bytes that decode
//   to the same header and message, and encode again to the same bytes (a stable round trip);
// - what the gateway writes for its own requests (protocol/frames.h encode_request) decodes to
//   the message it was given, with a size prefix that is the frame's size;
// - the relay's header-only readers (protocol/request_walk.h) agree with the full decode: the
//   client id, every Produce partition with records, every Fetch partition asked for;
// - the streaming Produce scanner (protocol/produce_scanner.h) walks every Produce v3-v11 that
//   decodes, fed whole and in 5-byte steps, its steps tiling the body and its per-topic tallies
//   those of walk_produce and count_records; on any other input it fails or finishes, never
//   reading past the body;
// - versions outside the API's range never decode.
// Seeds: every API x version x sample variant (tests/fuzz/seed_writer.cpp).
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_check.h"
#include "message_types.h"
#include "protocol/api_keys.h"
#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "protocol/headers.h"
#include "protocol/produce.h"
#include "protocol/produce_scanner.h"
#include "protocol/record_batch.h"
#include "protocol/request_walk.h"

namespace proto = kgw::protocol;
using kgw::fuzz::require;

namespace {

using tally_map = std::map<std::string, std::pair<std::uint64_t, std::uint64_t>, std::less<>>;

// Walks `body` with the Produce scanner, `grow` more bytes arriving each time it asks (0: all at
// once). nullopt: it failed. Requires that it never makes a step it was not given bytes for.
std::optional<tally_map> scan_produce(proto::bytes_view body, std::int16_t version, std::size_t grow) {
  proto::produce_scanner sc(version, body.size());
  std::size_t arrived = grow == 0 ? body.size() : std::min(body.size(), grow), covered = 0;
  for (std::size_t guard = 0; guard <= 4 * body.size() + 16; ++guard) {
    const std::size_t at = sc.position();
    require(at <= body.size(), "the Produce scanner's position passed the body");
    const auto s = sc.next(body.subspan(at, std::max(arrived, at) - at));
    switch (s.what) {
      case proto::produce_scanner::kind::structure:
        require(at + s.bytes <= arrived, "the Produce scanner took structure that had not arrived");
        covered += s.bytes;
        break;
      case proto::produce_scanner::kind::opaque:
        require(s.bytes > 0 && at + s.bytes <= body.size(), "a Produce scanner opaque step is empty or past the body");
        covered += s.bytes;
        arrived = std::max(arrived, at + s.bytes);
        break;
      case proto::produce_scanner::kind::need_more:
        if (grow == 0 || arrived == body.size()) return std::nullopt;  // told it all: it must not ask
        require(s.bytes > arrived - at, "the Produce scanner asked for what it has");
        arrived = std::min(body.size(), arrived + grow);
        break;
      case proto::produce_scanner::kind::done: {
        require(covered == body.size() && at == body.size(), "the Produce scanner's steps do not tile the body");
        tally_map out;
        for (const auto& t : sc.tallies())
          if (t.bytes > 0 || t.records > 0) {
            auto& o = out[t.name];
            o.first += t.bytes;
            o.second += t.records;
          }
        return out;
      }
      case proto::produce_scanner::kind::failed:
        require(sc.error() != nullptr, "the Produce scanner failed without a reason");
        return std::nullopt;
    }
  }
  require(false, "the Produce scanner did not finish");
  return std::nullopt;
}

using produce_seen = std::vector<std::pair<std::string_view, proto::bytes_view>>;
using fetch_seen = std::vector<std::tuple<std::string_view, proto::uuid, std::int32_t, std::int64_t>>;

bool same_bytes(proto::bytes_view a, proto::bytes_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void check_walks(proto::bytes_view body, const proto::request_header& h, std::int16_t version, const void* msg,
                 std::int16_t key) {
  const auto client_id = proto::request_client_id(body);
  require(client_id.has_value(), "request_client_id fails on a request that decodes");
  require(*client_id == h.client_id, "request_client_id differs from the decoded header");

  if (key == proto::api::produce) {
    const auto& m = *static_cast<const proto::produce_request*>(msg);
    produce_seen walked, decoded;
    auto ok = proto::walk_produce(version, body, [&](std::string_view t, proto::bytes_view r) { walked.emplace_back(t, r); });
    require(ok.has_value(), "walk_produce fails on a Produce request that decodes", ok ? "" : ok.error());
    for (const auto& t : m.topic_data)
      for (const auto& p : t.partition_data)
        if (p.records && !p.records->empty()) decoded.emplace_back(t.name, *p.records);
    require(walked.size() == decoded.size(), "walk_produce reports another number of partitions");
    for (std::size_t i = 0; i < walked.size(); ++i)
      require(walked[i].first == decoded[i].first && same_bytes(walked[i].second, decoded[i].second),
              "walk_produce differs from the decoded Produce request");
    if (version >= 3 && version <= 11) {
      tally_map want;
      for (const auto& [t, r] : walked) {
        auto& o = want[std::string(t)];
        o.first += r.size();
        o.second += proto::count_records(r);
      }
      std::erase_if(want, [](const auto& kv) { return kv.second.first == 0 && kv.second.second == 0; });
      for (std::size_t grow : {std::size_t(0), std::size_t(5)}) {
        const auto got = scan_produce(body, version, grow);
        require(got.has_value(), "the Produce scanner fails on a Produce request that decodes");
        require(*got == want, "the Produce scanner's tallies differ from walk_produce and count_records");
      }
    }
  }
  if (key == proto::api::fetch) {
    const auto& m = *static_cast<const proto::fetch_request*>(msg);
    fetch_seen walked, decoded;
    auto ok = proto::walk_fetch(version, body, [&](std::string_view t, const proto::uuid& id, std::int32_t p,
                                                   std::int64_t o) { walked.emplace_back(t, id, p, o); });
    require(ok.has_value(), "walk_fetch fails on a Fetch request that decodes", ok ? "" : ok.error());
    for (const auto& t : m.topics)
      for (const auto& p : t.partitions) decoded.emplace_back(t.topic, t.topic_id, p.partition, p.fetch_offset);
    require(walked == decoded, "walk_fetch differs from the decoded Fetch request");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const proto::bytes_view body = kgw::fuzz::bytes_of(data, size);
  // The relay's readers see every frame, decodable or not: they must only not over-read.
  (void)proto::request_client_id(body);
  (void)proto::walk_produce(size >= 4 ? kgw::fuzz::be16(data + 2) : 0, body, [](auto, auto) {});
  (void)proto::walk_fetch(size >= 4 ? kgw::fuzz::be16(data + 2) : 0, body, [](auto, auto, auto, auto) {});
  if (size >= 4 && kgw::fuzz::be16(data) == proto::api::produce) (void)scan_produce(body, kgw::fuzz::be16(data + 2), 3);
  if (size < 4) return 0;

  const std::int16_t key = kgw::fuzz::be16(data), version = kgw::fuzz::be16(data + 2);
  const proto::api_info* api = proto::find_api(key);
  if (!api) return 0;
  const std::int16_t hv = proto::request_header_version(key, version);
  proto::reader r(body);
  proto::request_header h;
  h.decode(r, hv);
  if (!r.ok()) return 0;

  kgw::fuzz::with_request(key, [&]<class M>(std::type_identity<M>) {
    M m;
    m.decode(r, version);
    if (version < M::min_version || version > M::max_version) {
      require(!r.ok(), "a version outside the API's range decoded");
      return;
    }
    if (!r.ok() || r.remaining() != 0) return;
    check_walks(body, h, version, &m, key);

    // Header and message encoded again, decoded again: the same values, then the same bytes.
    proto::writer w;
    h.encode(w, hv);
    m.encode(w, version);
    const std::vector<std::byte> once = w.flatten();
    proto::reader r2(once);
    proto::request_header h2;
    M m2;
    h2.decode(r2, hv);
    m2.decode(r2, version);
    require(r2.ok() && r2.remaining() == 0, "a re-encoded request does not decode", r2.ok() ? "trailing bytes" : r2.error().what);
    require(h2 == h, "request header differs after a round trip");
    require(m2 == m, "request differs after a round trip");
    proto::writer w2;
    h2.encode(w2, hv);
    m2.encode(w2, version);
    require(w2.flatten() == once, "request encoding is not stable");

    // The gateway's own request frames (size prefix included).
    const std::vector<std::byte> frame =
        proto::encode_request(m, version, h.correlation_id, h.client_id.value_or(""), true).flatten();
    require(frame.size() >= 4, "encode_request wrote no size");
    const std::uint32_t n = (std::to_integer<std::uint32_t>(frame[0]) << 24) | (std::to_integer<std::uint32_t>(frame[1]) << 16) |
                            (std::to_integer<std::uint32_t>(frame[2]) << 8) | std::to_integer<std::uint32_t>(frame[3]);
    require(n == frame.size() - 4, "encode_request's size prefix is not the frame's size");
    proto::reader r3(proto::bytes_view(frame).subspan(4));
    proto::request_header h3;
    M m3;
    h3.decode(r3, hv);
    m3.decode(r3, version);
    require(r3.ok() && r3.remaining() == 0, "a frame encode_request wrote does not decode");
    require(h3.request_api_key == key && h3.request_api_version == version && h3.correlation_id == h.correlation_id,
            "encode_request wrote another header");
    require(m3 == m, "encode_request wrote another message");
  });
  return 0;
}

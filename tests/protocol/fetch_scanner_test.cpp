// fetch_scanner: over every sample Fetch response v0-17 (each variant), fed whole and as it
// would stream (growing one byte at a time), the steps tile the body exactly, the opaque steps
// are the records payloads in order, and the trailer holds the top-level tagged fields. Cut or
// hostile bodies fail instead of being walked past.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/fetch.h"
#include "protocol/fetch_scanner.h"
#include "protocol/headers.h"
#include "protocol/samples.h"
#include "protocol/testing/sample_values.h"

namespace proto = kgw::protocol;
using kind = proto::fetch_scanner::kind;

namespace {

std::vector<std::byte> body_of(const proto::fetch_response& m, std::int16_t v) {
  proto::writer w;
  proto::response_header h;
  h.correlation_id = 9;
  h.encode(w, v >= 12 ? 1 : 0);
  m.encode(w, v);
  return w.flatten();
}

struct walk {
  std::vector<std::pair<std::size_t, std::size_t>> opaque;  // offset, length
  std::size_t trailer_at = 0;
  bool failed = false;
  int steps = 0;
};

// Feeds the scanner `grow` more bytes each time it asks for more (0: the whole body at once).
walk scan(const std::vector<std::byte>& body, std::int16_t v, std::size_t grow, bool tally = false,
          std::vector<proto::fetch_scanner::topic_tally>* tallies = nullptr) {
  proto::fetch_scanner sc(v, body.size(), tally);
  walk out;
  std::size_t arrived = grow == 0 ? body.size() : std::min(body.size(), grow);
  for (int guard = 0; guard < 1000000; ++guard) {
    const std::size_t at = sc.position();
    const auto s = sc.next(proto::bytes_view(body).subspan(at, std::max(arrived, at) - at));
    ++out.steps;
    switch (s.what) {
      case kind::structure: REQUIRE(s.bytes > 0); break;
      case kind::opaque:
        out.opaque.emplace_back(at, s.bytes);
        arrived = std::max(arrived, at + s.bytes);  // relayed unread
        break;
      case kind::trailer:
        CHECK(at + s.bytes == body.size());
        out.trailer_at = at;
        if (tallies) *tallies = sc.tallies();
        return out;
      case kind::need_more:
        REQUIRE(grow > 0);
        REQUIRE(arrived < body.size());
        REQUIRE(s.bytes > arrived - at);
        arrived = std::min(body.size(), arrived + grow);
        break;
      case kind::failed:
        REQUIRE(sc.error() != nullptr);
        out.failed = true;
        return out;
    }
  }
  FAIL("scanner did not finish");
  return out;
}

}  // namespace

TEST_CASE("fetch_scanner: steps tile every sample Fetch v0-17 body; opaque steps are the records", "[protocol][fetch_scanner]") {
  for (std::int16_t v = 0; v <= proto::fetch_response::max_version; ++v) {
    for (int variant = 0; variant < proto::testing::sample_variants; ++variant) {
      INFO("v" << v << " variant " << variant);
      proto::fetch_response m;
      proto::testing::fill_sample(m, v, variant);
      const auto body = body_of(m, v);
      std::vector<std::string> records;
      for (const auto& t : m.responses)
        for (const auto& p : t.partitions)
          if (p.records && !p.records->empty()) records.emplace_back(proto::as_string(*p.records));
      for (std::size_t grow : {std::size_t(0), std::size_t(1), std::size_t(7)}) {
        const walk w = scan(body, v, grow);
        REQUIRE_FALSE(w.failed);
        REQUIRE(w.opaque.size() == records.size());
        for (std::size_t i = 0; i < records.size(); ++i)
          CHECK(proto::as_string(proto::bytes_view(body).subspan(w.opaque[i].first, w.opaque[i].second)) == records[i]);
        // The trailer parses as tagged fields holding the node endpoints and unknown fields.
        std::vector<std::uint32_t> tags;
        const auto parsed = proto::fetch_scanner::for_each_tag(
            proto::bytes_view(body).subspan(w.trailer_at), [&](std::uint32_t tag, proto::bytes_view) { tags.push_back(tag); });
        if (v >= 12) CHECK(parsed.has_value());
        const std::size_t expected =
            v < 12 ? 0 : m.unknown_tagged_fields.size() + (v >= 16 && !m.node_endpoints.empty() ? 1 : 0);
        CHECK(tags.size() == expected);
        if (v < 12) CHECK(w.trailer_at == body.size());
      }
    }
  }
}

TEST_CASE("fetch_scanner: a cut body, bytes past the end or a hostile count fail", "[protocol][fetch_scanner]") {
  proto::fetch_response m;
  proto::testing::fill_sample(m, 16, 0);
  const auto body = body_of(m, 16);
  // Cut at every length: the scanner (told the body is that long) fails, never reads past it.
  for (std::size_t n = 0; n < body.size(); ++n) {
    INFO("cut at " << n);
    std::vector<std::byte> cut(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
    const walk w = scan(cut, 16, 0);
    // A cut inside the trailer leaves a trailer that only its own parser can tell is short.
    if (!w.failed) {
      const auto parsed = proto::fetch_scanner::for_each_tag(proto::bytes_view(cut).subspan(w.trailer_at), [](auto, auto) {});
      REQUIRE_FALSE(parsed);
      CHECK(parsed.error() != nullptr);
    }
  }
  // A topic count far beyond the body.
  std::vector<std::byte> hostile = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{9}, std::byte{0},  // header
                                    std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},                // throttle
                                    std::byte{0}, std::byte{0},                                            // error
                                    std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},                // session
                                    std::byte{0xff}, std::byte{0xff}, std::byte{0x7f}};                     // topics
  CHECK(scan(hostile, 16, 0).failed);
  CHECK(scan(hostile, 16, 1).failed);
}

namespace {

// A v2 batch header claiming n records, then n record-sized filler bytes: the scanner reads
// lengths, magic and count only (no CRC, no records).
std::vector<std::byte> batch_of(int n, std::int64_t base) {
  proto::writer w;
  w.i64(base);
  w.i32(49 + 20 * n);  // batch length: the header after this field, plus the records
  w.i32(0);            // partition leader epoch
  w.i8(2);             // magic
  w.i32(0);            // crc
  w.i16(0);            // attributes
  w.i32(n - 1);        // last offset delta
  w.i64(0);
  w.i64(0);            // timestamps
  w.i64(-1);
  w.i16(-1);
  w.i32(-1);           // producer id, epoch, base sequence
  w.i32(n);            // record count
  auto out = w.flatten();
  REQUIRE(out.size() == 61);
  out.resize(out.size() + 20 * static_cast<std::size_t>(n), std::byte{0x5a});
  return out;
}

}  // namespace

TEST_CASE("fetch_scanner: tally gives each topic its section's bytes; the last topic before v16 is one opaque rest",
          "[protocol][fetch_scanner]") {
  std::vector<std::byte> a0 = batch_of(3, 0), a1 = batch_of(2, 0), b0 = batch_of(4, 0);
  proto::uuid id_a{}, id_b{};
  id_a[0] = std::byte{1};
  id_b[0] = std::byte{2};
  auto topic_a = [&] {
    proto::fetch_response::fetchable_topic_response t;
    t.topic = "a";
    t.topic_id = id_a;
    t.partitions.resize(2);
    t.partitions[0].records = proto::bytes_view(a0);
    t.partitions[1].partition_index = 1;
    t.partitions[1].records = proto::bytes_view(a1);
    return t;
  };
  auto topic_b = [&] {
    proto::fetch_response::fetchable_topic_response t;
    t.topic = "b";
    t.topic_id = id_b;
    t.partitions.resize(2);
    t.partitions[0].records = proto::bytes_view(b0);
    t.partitions[1].partition_index = 1;  // no records
    return t;
  };
  auto section = [](const proto::fetch_response::fetchable_topic_response& t, std::int16_t v) {
    proto::writer w;
    t.encode(w, v);
    return w.size();
  };
  for (std::int16_t v : {std::int16_t(0), std::int16_t(4), std::int16_t(11), std::int16_t(12), std::int16_t(13),
                         std::int16_t(15), std::int16_t(16)}) {
    for (int topics : {1, 2}) {
      INFO("v" << v << ", " << topics << " topic(s)");
      proto::fetch_response m;
      m.responses.push_back(topic_a());
      if (topics == 2) m.responses.push_back(topic_b());
      const auto body = body_of(m, v);
      for (std::size_t grow : {std::size_t(0), std::size_t(1), std::size_t(13)}) {
        INFO("grow " << grow);
        std::vector<proto::fetch_scanner::topic_tally> t;
        const walk w = scan(body, v, grow, true, &t);
        REQUIRE_FALSE(w.failed);
        REQUIRE(t.size() == static_cast<std::size_t>(topics));
        if (v >= 13)
          CHECK(t[0].id == id_a);
        else
          CHECK(t[0].name == "a");
        // Before v16 the last topic is relayed as one opaque rest after its header (its bytes then
        // include the top-level tagged fields: one byte here from v12); from v16 every payload is
        // its own step, so the trailer with the node endpoints can be found.
        const bool rest = v < 16;
        const std::size_t last = static_cast<std::size_t>(topics) - 1;
        for (std::size_t i = 0; i < t.size(); ++i) {
          INFO("topic " << i);
          const std::size_t extra = i == last && rest && v >= 12 ? 1 : 0;
          CHECK(t[i].bytes == section(m.responses[i], v) + extra);
        }
        if (topics == 2) {
          if (v >= 13)
            CHECK(t[1].id == id_b);
          else
            CHECK(t[1].name == "b");
        }
        if (rest) {
          REQUIRE_FALSE(w.opaque.empty());
          CHECK(w.opaque.back().first + w.opaque.back().second == body.size());
          CHECK(w.opaque.size() == (topics == 2 ? 3u : 1u));  // a's payloads, then the rest
        } else {
          CHECK(w.opaque.size() == (topics == 2 ? 3u : 2u));  // every payload
        }
      }
    }
  }
}

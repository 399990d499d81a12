// produce_scanner: over Produce v3-v11 requests (several topics; partitions with several
// batches, none, a null field, a batch that does not add up, a pre-v2 batch; tagged fields),
// fed whole and as they would stream (growing one byte or seven at a time), the steps tile the
// body exactly, every opaque step lies inside a records field, and the tallies equal what
// walk_produce and count_records say of the whole request. Cut or hostile bodies fail.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "protocol/frames.h"
#include "protocol/produce.h"
#include "protocol/produce_scanner.h"
#include "protocol/record_batch.h"
#include "protocol/request_walk.h"

namespace proto = kgw::protocol;
using kind = proto::produce_scanner::kind;

namespace {

// A v2-shaped batch: what the scanner reads is its length, magic and record count; the rest is
// filler (never parsed here).
std::vector<std::byte> batch(std::int32_t records, std::size_t size, std::uint8_t magic = 2) {
  std::vector<std::byte> b(size, std::byte{0x33});
  const auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::byte>(v >> (24 - 8 * i));
  };
  put32(8, static_cast<std::uint32_t>(size - 12));
  b[16] = static_cast<std::byte>(magic);
  put32(57, static_cast<std::uint32_t>(records));
  return b;
}

std::vector<std::byte> joined(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct fields {
  std::vector<std::byte> two_batches = joined({batch(3, 200), batch(5, 61)});
  std::vector<std::byte> one_batch = batch(40, 4000);
  std::vector<std::byte> broken = joined({batch(2, 100), std::vector<std::byte>(30, std::byte{1})});  // past its end
  std::vector<std::byte> legacy = batch(9, 120, 1);
  std::vector<std::byte> tiny = std::vector<std::byte>(20, std::byte{7});  // shorter than a batch header
};

std::vector<std::byte> body_of(std::int16_t v, const fields& f) {
  proto::produce_request m;
  m.topic_data.reserve(3);  // the references below stay valid
  m.transactional_id = v % 2 ? std::optional<std::string_view>("tx") : std::nullopt;
  m.acks = -1;
  m.timeout_ms = 3000;
  auto& a = m.topic_data.emplace_back();
  a.name = "alpha";
  a.partition_data.push_back({0, proto::bytes_view(f.two_batches), {}});
  a.partition_data.push_back({1, std::nullopt, {}});
  a.partition_data.push_back({2, proto::bytes_view(f.broken), {}});
  auto& b = m.topic_data.emplace_back();
  b.name = "beta";
  b.partition_data.push_back({7, proto::bytes_view(f.one_batch), {}});
  b.partition_data.push_back({8, proto::bytes_view(f.legacy), {}});
  b.partition_data.push_back({9, proto::bytes_view(f.tiny), {}});
  auto& c = m.topic_data.emplace_back();
  c.name = "gamma";  // no partitions
  if (v >= 9) {
    static const std::byte tag_data[] = {std::byte{1}, std::byte{2}};
    m.unknown_tagged_fields.push_back({5, proto::bytes_view(tag_data, 2)});
    b.unknown_tagged_fields.push_back({6, proto::bytes_view(tag_data, 1)});
    b.partition_data[0].unknown_tagged_fields.push_back({7, proto::bytes_view(tag_data, 2)});
  }
  auto frame = proto::encode_request(m, v, 42, "scanner-test").flatten();
  return {frame.begin() + 4, frame.end()};
}

struct walk {
  std::vector<std::pair<std::size_t, std::size_t>> opaque;  // offset, length
  std::size_t covered = 0;
  bool failed = false;
  std::vector<proto::produce_scanner::topic_tally> tallies;
};

walk scan(const std::vector<std::byte>& body, std::int16_t v, std::size_t grow) {
  proto::produce_scanner sc(v, body.size());
  walk out;
  std::size_t arrived = grow == 0 ? body.size() : std::min(body.size(), grow);
  for (int guard = 0; guard < 1000000; ++guard) {
    const std::size_t at = sc.position();
    const auto s = sc.next(proto::bytes_view(body).subspan(at, std::max(arrived, at) - at));
    switch (s.what) {
      case kind::structure:
        REQUIRE(at + s.bytes <= arrived);  // structure is only what has arrived
        out.covered += s.bytes;
        break;
      case kind::opaque:
        REQUIRE(s.bytes > 0);
        out.opaque.emplace_back(at, s.bytes);
        out.covered += s.bytes;
        arrived = std::max(arrived, at + s.bytes);  // relayed unread
        break;
      case kind::done:
        CHECK(at == body.size());
        out.tallies = sc.tallies();
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

TEST_CASE("produce_scanner: steps tile Produce v3-v11 and tally as walk_produce and count_records do",
          "[protocol][produce_scanner]") {
  const fields f;
  for (std::int16_t v = 3; v <= proto::produce_request::max_version; ++v) {
    INFO("v" << v);
    const auto body = body_of(v, f);
    // What the whole-request walk says, per topic.
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> want;
    std::vector<std::pair<std::size_t, std::size_t>> fields_at;  // where each records field lies
    REQUIRE(proto::walk_produce(v, body, [&](std::string_view t, proto::bytes_view r) {
      auto& w = want[std::string(t)];
      w.first += r.size();
      w.second += proto::count_records(r);
      fields_at.emplace_back(static_cast<std::size_t>(r.data() - body.data()), r.size());
    }));
    for (std::size_t grow : {std::size_t(0), std::size_t(1), std::size_t(7)}) {
      INFO("grow " << grow);
      const walk w = scan(body, v, grow);
      REQUIRE_FALSE(w.failed);
      CHECK(w.covered == body.size());
      std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> got;
      for (const auto& t : w.tallies)
        if (t.bytes > 0 || t.records > 0) got[t.name] = {t.bytes, t.records};
      std::string described;
      for (const auto& [t, bw] : want) described += t + " want " + std::to_string(bw.first) + "/" + std::to_string(bw.second) + "; ";
      for (const auto& [t, bw] : got) described += t + " got " + std::to_string(bw.first) + "/" + std::to_string(bw.second) + "; ";
      INFO(described);
      CHECK(got == want);
      // Records counted: 3 + 5, and 2 (the broken field's first batch) of alpha; 40, and the
      // pre-v2 message as one, of beta.
      CHECK(got["alpha"].second == 10);
      CHECK(got["beta"].second == 41);
      for (const auto& [at, n] : w.opaque) {
        const bool inside = std::any_of(fields_at.begin(), fields_at.end(),
                                        [&](const auto& fa) { return at >= fa.first && at + n <= fa.first + fa.second; });
        CHECK(inside);
      }
      // The large batch's body is one opaque step: 4000 - 61 bytes relayed unread.
      CHECK(std::any_of(w.opaque.begin(), w.opaque.end(), [](const auto& o) { return o.second == 4000 - 61; }));
    }
  }
}

TEST_CASE("produce_scanner: a cut body, bytes past the end, a hostile count or an old version fail",
          "[protocol][produce_scanner]") {
  const fields f;
  const auto body = body_of(9, f);
  for (std::size_t n = 0; n < body.size(); ++n) {
    INFO("cut at " << n);
    std::vector<std::byte> cut(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(scan(cut, 9, 0).failed);
  }
  auto longer = body;
  longer.push_back(std::byte{0});
  CHECK(scan(longer, 9, 0).failed);
  auto plain = body_of(7, f);
  longer = plain;
  longer.push_back(std::byte{0});
  CHECK(scan(longer, 7, 0).failed);
  // The topics count of v7 (after the header, transactional id, acks and timeout) made huge.
  proto::reader r(plain);
  r.skip(8);
  r.nullable_string(false);
  r.nullable_string(false);
  r.skip(6);
  REQUIRE(r.ok());
  auto hostile = plain;
  for (std::size_t i = 0; i < 4; ++i) hostile[r.position() + i] = std::byte{0x7f};
  CHECK(scan(hostile, 7, 0).failed);
  CHECK(scan(plain, 2, 0).failed);  // outside v3-v11: the caller buffers such requests whole
}

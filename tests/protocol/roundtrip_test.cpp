// Generated-sample round trips for every message (headers included) x every version x every
// sample variant: encode -> decode (all bytes consumed) -> equal -> re-encode -> identical bytes;
// every strict prefix fails to decode; one trailing byte is left unread.
//
// Each decode reads from a heap copy of exactly the bytes under test, so an over-read is a
// heap-buffer-overflow under ASan (protocol_tests_asan).
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "protocol/api_keys.h"
#include "protocol/samples.h"
#include "protocol/testing/sample_values.h"

namespace proto = kgw::protocol;
using bytes = std::vector<std::byte>;

namespace {

template <class M>
bytes encode(const M& m, std::int16_t v) {
  proto::writer w;
  m.encode(w, v);
  return w.flatten();
}

struct decoded_stats {
  std::size_t encodings = 0, prefixes = 0;
};

template <class M>
void check_message(decoded_stats& st) {
  using namespace kgw::protocol::testing;
  for (std::int16_t v = M::min_version; v <= M::max_version; ++v) {
    for (int variant = 0; variant < sample_variants; ++variant) {
      M m;
      fill_sample(m, v, variant);
      INFO(message_name(m) << " v" << v << " variant " << variant);
      const bytes wire = encode(m, v);
      ++st.encodings;

      const bytes copy = wire;  // exactly sized heap buffer
      proto::reader r(copy);
      M d;
      d.decode(r, v);
      REQUIRE(r.ok());
      REQUIRE(r.remaining() == 0);
      REQUIRE(d == m);
      REQUIRE(encode(d, v) == wire);

      // Every strict prefix must fail, without reading past its end.
      for (std::size_t n = 0; n < wire.size(); ++n) {
        const bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
        proto::reader pr(prefix);
        M p;
        p.decode(pr, v);
        ++st.prefixes;
        if (pr.ok()) FAIL("prefix of " << n << " of " << wire.size() << " bytes decoded successfully");
      }

      // Trailing garbage is not consumed: the caller sees remaining() != 0.
      bytes longer = wire;
      longer.push_back(std::byte{0x5a});
      proto::reader gr(longer);
      M g;
      g.decode(gr, v);
      REQUIRE(gr.ok());
      REQUIRE(gr.remaining() == 1);
      REQUIRE(g == m);
    }
  }
}

// Samples must not be default messages (a round trip of defaults proves little), and their
// encoding must differ from the defaults' in every version that has any field.
template <class M>
void check_samples_non_default() {
  using namespace kgw::protocol::testing;
  for (std::int16_t v = M::min_version; v <= M::max_version; ++v) {
    const bytes defaults = encode(M{}, v);
    if (defaults.empty()) continue;  // no field at all in this version (ApiVersions request v0-2)
    for (int variant = 0; variant < sample_variants; ++variant) {
      M a;
      fill_sample(a, v, variant);
      INFO(message_name(a) << " v" << v << " variant " << variant);
      CHECK_FALSE(a == M{});
      CHECK(encode(a, v) != defaults);
    }
  }
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("round trip of generated samples, all versions", "[protocol][roundtrip]",
                        kgw::protocol::testing::all_messages) {
  decoded_stats st;
  check_message<TestType>(st);
  CHECK(st.encodings == static_cast<std::size_t>(TestType::max_version - TestType::min_version + 1) *
                            kgw::protocol::testing::sample_variants);
  CHECK(st.prefixes > 0);
}

TEMPLATE_LIST_TEST_CASE("samples are not default messages", "[protocol][roundtrip]",
                        kgw::protocol::testing::all_messages) {
  check_samples_non_default<TestType>();
}

TEMPLATE_LIST_TEST_CASE("unsupported versions fail to decode", "[protocol][roundtrip]",
                        kgw::protocol::testing::all_messages) {
  const bytes wire(64, std::byte{0});
  for (std::int16_t v : {static_cast<std::int16_t>(TestType::min_version - 1),
                         static_cast<std::int16_t>(TestType::max_version + 1)}) {
    proto::reader r(wire);
    TestType m;
    m.decode(r, v);
    CHECK_FALSE(r.ok());
  }
}

// inflight_queue: the gateway's own answers queue in order with the broker's, and a quota's
// throttle goes into their throttle_time_ms where the API and version have one.
#include <catch2/catch.hpp>

#include "gateway/inflight_queue.h"
#include "protocol/frames.h"
#include "protocol/metadata.h"
#include "protocol/sasl_handshake.h"

namespace p = kgw::protocol;
using kgw::gateway::inflight;
using kgw::gateway::inflight_queue;
using namespace std::chrono_literals;

namespace {
std::vector<std::byte> body_of(const auto& msg, std::int16_t v, std::int32_t corr) {
  auto frame = p::encode_response(msg, v, corr).flatten();
  return {frame.begin() + 4, frame.end()};
}
}  // namespace

TEST_CASE("inflight_queue: a local answer carries a quota's throttle where it has the field") {
  inflight_queue q;
  p::metadata_response m;
  m.throttle_time_ms = 20;
  q.answer_locally(1, p::api::metadata, 9, body_of(m, 9, 1), 750ms);
  q.answer_locally(2, p::api::metadata, 9, body_of(m, 9, 2), 5ms);   // the broker's larger value stays
  q.answer_locally(3, p::api::metadata, 0, body_of(p::metadata_response{}, 0, 3), 750ms);  // v0: no field
  p::sasl_handshake_response h;
  q.answer_locally(4, p::api::sasl_handshake, 1, body_of(h, 1, 4), 750ms);  // none at all
  for (std::int32_t corr : {1, 2, 3, 4}) {
    INFO("correlation id " << corr);
    inflight req;
    REQUIRE(q.take(corr, req) == inflight_queue::match::ok);
    REQUIRE(req.local);
    std::int32_t answered = -1;
    if (req.api_key == p::api::metadata) {
      p::metadata_response back;
      REQUIRE(p::decode_response(*req.local, req.version, back, &answered));
      CHECK(back.throttle_time_ms == (corr == 1 ? 750 : corr == 2 ? 20 : 0));
    } else {
      p::sasl_handshake_response back;
      REQUIRE(p::decode_response(*req.local, req.version, back, &answered));
      CHECK(back == h);
    }
    CHECK(answered == corr);
  }
}

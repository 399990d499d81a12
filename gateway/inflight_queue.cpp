#include "gateway/inflight_queue.h"

#include "gateway/frame_buffer.h"
#include "protocol/throttle_field.h"

namespace kgw::gateway {

void inflight_queue::answer_locally(std::int32_t correlation_id, std::int16_t api_key, std::int16_t version,
                                    const std::vector<std::byte>& body, std::chrono::milliseconds throttle) {
  auto frame = std::make_shared<std::vector<std::byte>>(4 + body.size());
  write_be32(frame->data(), static_cast<std::uint32_t>(body.size()));
  std::copy(body.begin(), body.end(), frame->begin() + 4);
  if (throttle.count() > 0)
    if (const auto at = protocol::throttle_offset(api_key, version, *frame))
      protocol::raise_throttle(*frame, *at, static_cast<std::int32_t>(std::min<std::int64_t>(throttle.count(), 0x7fffffff)));
  inflight req;
  req.correlation_id = correlation_id;
  req.api_key = api_key;
  req.version = version;
  req.local = std::move(frame);
  q_.push_back(std::move(req));
}

inflight_queue::match inflight_queue::take(std::int32_t corr, inflight& req) {
  if (std::find(acks0_.begin(), acks0_.end(), corr) != acks0_.end() &&
      (q_.empty() || q_.front().correlation_id != corr)) {
    std::erase(acks0_, corr);
    return match::stray;
  }
  if (q_.empty()) return match::unsolicited;
  req = q_.front();
  if (corr != req.correlation_id) return match::mismatch;
  q_.pop_front();
  return match::ok;
}

}  // namespace kgw::gateway

#pragma once
// One request or response as the policy chain hands it to each policy (policies/policy.h): the
// frame as received, its header, and the message decoded AT MOST ONCE, on the first policy's
// demand, then shared by every policy after it. A policy that changes the decoded message says
// so (rewrote()); the chain then encodes it once, after the last policy. A message no policy
// asks for is never decoded and leaves as the bytes that arrived.
// Threading: one exchange per message, on its session's worker thread; not shared.
#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "policies/decision.h"
#include "policies/topic_names.h"
#include "protocol/headers.h"
#include "protocol/wire.h"

namespace kgw::policies {

// A decoded message of any generated type, owned; empty until first decoded.
class decoded_message {
 public:
  template <class M>
  M* get() const {
    return type_ == &typeid(M) ? static_cast<M*>(msg_.get()) : nullptr;
  }
  template <class M>
  M& emplace() {
    msg_ = holder(new M, [](void* p) { delete static_cast<M*>(p); });
    type_ = &typeid(M);
    encode_ = [](const void* m, protocol::writer& w, std::int16_t v) { static_cast<const M*>(m)->encode(w, v); };
    return *static_cast<M*>(msg_.get());
  }
  bool empty() const { return !msg_; }
  void encode(protocol::writer& w, std::int16_t version) const { encode_(msg_.get(), w, version); }

 private:
  using holder = std::unique_ptr<void, void (*)(void*)>;
  holder msg_{nullptr, [](void*) {}};
  const std::type_info* type_ = nullptr;
  void (*encode_)(const void*, protocol::writer&, std::int16_t) = nullptr;
};

// What both exchanges keep: the one decode, whether it failed, whether a policy changed it.
class message_holder {
 public:
  // A policy changed the decoded message: the chain encodes it (once, after the last policy).
  void rewrote() { rewritten_ = true; }
  bool rewritten() const { return rewritten_; }
  bool decoded() const { return !decoded_.empty() && !failed_; }  // some policy asked for the message

 protected:
  // The message decoded by decode(M&) -> bool on the first call, shared after; why it did not
  // decode, when it did not.
  template <class M, class Decode>
  std::expected<M*, std::string> once(Decode&& decode) {
    if (M* m = decoded_.template get<M>()) return m;
    if (decoded_.empty() && !failed_) {
      M& m = decoded_.template emplace<M>();
      if (decode(m)) return &m;
    }
    return std::unexpected(failed_ ? failure_ : std::string("the message was decoded as another type"));
  }
  // Records why the message (or header) does not decode; decode() returns false after it.
  bool fail(std::string why) {
    failed_ = true;
    failure_ = std::move(why);
    return false;
  }

  decoded_message decoded_;
  bool failed_ = false;
  std::string failure_;
  bool rewritten_ = false;
};

// "malformed Metadata v12 request: <why>" (kind "request" or "response"); r stopped where
// decoding did (r.ok(): the message decoded and bytes are left over).
std::string malformed_message(std::int16_t api_key, std::int16_t version, const char* kind, const protocol::reader& r);

// What the relay read of a request before any policy saw it.
struct request_head {
  std::int16_t api_key = -1;
  std::int16_t api_version = -1;
  std::int32_t correlation_id = 0;
  bool expects_response = true;  // false: acks=0 Produce
};

class request_exchange : public message_holder {
 public:
  // body: the request frame without its size (header first); it outlives the exchange's use,
  // and an encoded rewrite borrows from it (records).
  request_exchange(const request_head& head, protocol::bytes_view body, topic_names& names,
                   const decision_origin& origin, bool ids_looked_up = false, bool waited = false);

  const request_head head;
  const protocol::bytes_view body;
  topic_names& names;             // topic ids -> names (this worker's)
  const decision_origin& origin;  // where decisions about this request go
  // Second pass after a lookup_topic_ids verdict: ids still unknown are unknown to the cluster.
  const bool ids_looked_up;
  // Asked again after a wait verdict: what the policy waited for has finished (or timed out).
  const bool waited;

  std::int16_t version() const { return head.api_version; }
  std::int16_t header_version() const { return header_version_; }
  const protocol::request_header& header() const { return header_; }
  bool header_ok() const { return header_ok_; }
  const std::string& header_error() const { return failure_; }  // when !header_ok()

  // The message, decoded on first call and shared after; why not when it does not decode to its
  // last byte ("malformed Produce v9 request: ...").
  template <class M>
  std::expected<M*, std::string> message() {
    return once<M>([&](M& m) {
      protocol::reader r(body.subspan(header_size_));
      m.decode(r, head.api_version);
      return (r.ok() && r.remaining() == 0) || fail(malformed_message(head.api_key, head.api_version, "request", r));
    });
  }
  // A buffer the rewritten message may point into (records a policy re-encoded): it lives as
  // long as the encoded request (encode hands it to the writer).
  std::vector<std::byte>& buffer() { return owned_.emplace_back(); }
  // The header as received and the decoded message (records borrowed from body and from the
  // exchange's buffers, which move into w).
  void encode(protocol::writer& w);

  // One denied entry (topic, group, transactional_id, cluster, config) with its Kafka error, the
  // operation refused and the rule that refused it (file:line:col; "" for a default deny).
  void denied(std::string_view resource_type, std::string_view resource, std::int16_t error,
              std::string_view operation = {}, std::string_view rule = {}) const;

 private:
  protocol::request_header header_;
  std::int16_t header_version_ = 0;
  std::size_t header_size_ = 0;
  bool header_ok_ = false;
  std::deque<std::vector<std::byte>> owned_;
};

class response_exchange : public message_holder {
 public:
  // body: the response frame without its size (header first). unsupported_api_versions: the
  // client asked ApiVersions at a version the gateway does not decode (answered v0).
  response_exchange(std::int16_t api_key, std::int16_t api_version, protocol::bytes_view body, topic_names& names,
                    const decision_origin& origin);

  const std::int16_t api_key;
  const std::int16_t api_version;  // the version upstream answered in
  const protocol::bytes_view body;
  topic_names& names;
  const decision_origin& origin;

  // As request_exchange::message: header and message decoded once, shared by every policy.
  template <class M>
  std::expected<M*, std::string> message() {
    return once<M>([&](M& m) {
      protocol::reader r(body);
      header_.decode(r, header_version_);
      m.decode(r, api_version);
      return (r.ok() && r.remaining() == 0) || fail(malformed_message(api_key, api_version, "response", r));
    });
  }

  // A topic of this response refused (fetch time), with why: a decision.
  void denied(std::string_view resource_type, std::string_view resource, std::int16_t error,
              std::string_view detail) const;

  // Header and message as decoded (and changed).
  void encode(protocol::writer& w) const;

 private:
  protocol::response_header header_;
  std::int16_t header_version_ = 0;
};

}  // namespace kgw::policies

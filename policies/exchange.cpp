#include "policies/exchange.h"

#include "protocol/api_keys.h"

namespace kgw::policies {

std::string malformed_message(std::int16_t api_key, std::int16_t version, const char* kind, const protocol::reader& r) {
  const char* name = protocol::api_name(api_key);
  return std::string("malformed ") + (name ? name : "?") + " v" + std::to_string(version) + " " + kind + ": " +
         (r.ok() ? "trailing bytes" : r.error().what);
}

namespace {

// One denied entry on the decision stream (nothing is built when nobody listens).
void emit_denied(const decision_origin& origin, std::int16_t api_key, std::int16_t api_version,
                 std::string_view resource_type, std::string_view resource, std::int16_t error,
                 std::string_view detail, std::string_view operation = {}, std::string_view rule = {}) {
  if (!origin.stream || !origin.stream->active()) return;
  auto d = origin.event(decision_kind::denied);
  d.api_key = api_key;
  d.api_version = api_version;
  d.resource_type = resource_type;
  d.resource = resource;
  d.error = error;
  d.detail = detail;
  d.operation = operation;
  d.rule = rule;
  origin.emit(d);
}

}  // namespace

request_exchange::request_exchange(const request_head& h, protocol::bytes_view b, topic_names& n,
                                   const decision_origin& o, bool looked_up, bool waited_for)
    : head(h), body(b), names(n), origin(o), ids_looked_up(looked_up), waited(waited_for) {
  header_version_ = protocol::request_header_version(head.api_key, head.api_version);
  protocol::reader r(body);
  header_.decode(r, header_version_);
  header_ok_ = r.ok();
  if (header_ok_) {
    header_size_ = body.size() - r.remaining();
  } else {
    const char* name = protocol::api_name(head.api_key);
    fail(std::string("malformed ") + (name ? name : "?") + " request header: " + r.error().what);
  }
}

void request_exchange::encode(protocol::writer& w) {
  header_.encode(w, header_version_);
  decoded_.encode(w, head.api_version);
  for (auto& b : owned_) w.keep(std::move(b));
  owned_.clear();
}

void request_exchange::denied(std::string_view resource_type, std::string_view resource, std::int16_t error,
                              std::string_view operation, std::string_view rule) const {
  emit_denied(origin, head.api_key, head.api_version, resource_type, resource, error, {}, operation, rule);
}

response_exchange::response_exchange(std::int16_t key, std::int16_t version, protocol::bytes_view b, topic_names& n,
                                     const decision_origin& o)
    : api_key(key),
      api_version(version),
      body(b),
      names(n),
      origin(o),
      header_version_(protocol::response_header_version(key, version)) {}

void response_exchange::encode(protocol::writer& w) const {
  header_.encode(w, header_version_);
  decoded_.encode(w, api_version);
}

void response_exchange::denied(std::string_view resource_type, std::string_view resource, std::int16_t error,
                               std::string_view detail) const {
  emit_denied(origin, api_key, api_version, resource_type, resource, error, detail);
}

}  // namespace kgw::policies

#pragma once
// Decoding a whole response (header + message) to change it, and re-encoding it only when it
// changed: the frame gateway/address_rewriter.cpp and the request authorizer's response fixups
// (gateway/authz_support.h) share. Each words a malformed response its own way (their messages
// are part of their logs and tests), so the wording is a parameter.
// Threading: stateless templates.
#include <cstdint>
#include <string>

#include "gateway/address_rewriter.h"  // rewrite_status, response_context
#include "protocol/headers.h"
#include "protocol/wire.h"

namespace kgw::gateway {

// Decodes `body` as a response header and an M of ctx.api_version, then calls
// fn(msg, changed) -> bool (false: failed, fn has set `error`); when fn set `changed`, header
// and message are re-encoded into `out`. A body that does not decode to its last byte fails
// with error = malformed(ctx, r), r being the reader where decoding stopped (r.ok(): the
// message decoded and bytes are left over).
template <class M, class Malformed, class Fn>
rewrite_status rewrite_response(const response_context& ctx, protocol::bytes_view body, protocol::writer& out,
                                std::string& error, Malformed&& malformed, Fn&& fn) {
  protocol::reader r(body);
  protocol::response_header hdr;
  const std::int16_t hv = protocol::response_header_version(ctx.api_key, ctx.api_version);
  hdr.decode(r, hv);
  M msg;
  msg.decode(r, ctx.api_version);
  if (!r.ok() || r.remaining() != 0) {
    error = malformed(ctx, r);
    return rewrite_status::failed;
  }
  bool changed = false;
  if (!fn(msg, changed)) return rewrite_status::failed;
  if (!changed) return rewrite_status::unchanged;
  hdr.encode(out, hv);
  msg.encode(out, ctx.api_version);
  return rewrite_status::rewritten;
}

}  // namespace kgw::gateway

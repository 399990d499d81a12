#include "gateway/request_inspector.h"

#include "gateway/address_rewriter.h"
#include "protocol/api_keys.h"
#include "protocol/headers.h"

namespace kgw::gateway {
namespace proto = kgw::protocol;

namespace {
namespace api = proto::api;

request_info refuse(request_info info, std::string why) {
  info.what = request_info::action::refuse;
  info.reason = std::move(why);
  return info;
}
}  // namespace

request_info inspect_request(proto::bytes_view body) {
  request_info info;
  proto::reader r(body);
  info.api_key = r.i16();
  info.api_version = r.i16();
  info.correlation_id = r.i32();
  info.upstream_version = info.api_version;
  if (!r.ok()) return refuse(info, "request shorter than a request header");

  // A client's SASL exchange ends at the gateway: the upstream connection is logged in as the
  // gateway's service account, so SASL frames must never reach it. Re-authentication (KIP-368)
  // is not offered (session lifetime 0), and on non-SASL listeners there is nothing to do.
  if (info.api_key == api::sasl_handshake || info.api_key == api::sasl_authenticate)
    return refuse(info, std::string(info.api_key == api::sasl_handshake ? "SaslHandshake" : "SaslAuthenticate") +
                            " outside the authentication phase");

  if (proto::exposes_unrewritable_addresses(info.api_key))
    return refuse(info, "API key " + std::to_string(info.api_key) +
                            " returns broker addresses the gateway does not rewrite");

  const proto::api_info* api = proto::find_api(info.api_key);
  // APIs outside the schema are relayed opaque: only the fixed header prefix is needed.
  if (!api) return info;

  const bool supported = info.api_version >= api->min_version && info.api_version <= api->max_version;
  if (!supported) {
    if (info.api_key == api::api_versions) {
      // Ask upstream at v0 and answer the client the way a broker answers an unknown
      // ApiVersions version: v0 response, UNSUPPORTED_VERSION, with the ranges it can use.
      proto::reader hr(body);
      proto::request_header hdr;
      hdr.decode(hr, 1);  // v1 prefix: key, version, correlation id, client id
      if (!hr.ok()) return refuse(info, "malformed ApiVersions request header");
      hdr.request_api_version = 0;
      proto::writer w;
      hdr.unknown_tagged_fields.clear();
      hdr.encode(w, 1);
      info.replacement = w.owned();
      info.what = request_info::action::replace;
      info.upstream_version = 0;
      info.unsupported_api_versions = true;
      return info;
    }
    if (response_needs_inspection(info.api_key, info.api_version) || info.api_key == api::produce)
      return refuse(info, std::string(api->name) + " v" + std::to_string(info.api_version) +
                              " is newer than the gateway decodes (max v" + std::to_string(api->max_version) +
                              "); the client ignored ApiVersions");
    return info;  // no addresses in it: relay opaque
  }

  proto::request_header hdr;
  proto::reader hr(body);
  const std::int16_t header_version = proto::request_header_version(info.api_key, info.api_version);
  hdr.decode(hr, header_version);
  if (!hr.ok()) return refuse(info, std::string("malformed ") + api->name + " request header: " + hr.error().what);

  if (info.api_key == api::produce) {
    // Produce: [transactional_id (v3+)] acks ... ; only acks matters here.
    const bool flexible = header_version >= 2;
    if (info.api_version >= 3) (void)hr.nullable_string(flexible);
    const std::int16_t acks = hr.i16();
    if (!hr.ok()) return refuse(info, "malformed Produce request");
    info.expects_response = acks != 0;
  }
  return info;
}

}  // namespace kgw::gateway

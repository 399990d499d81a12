#include "gateway/restart_settings.h"

namespace kgw::gateway {

std::vector<std::string> restart_only_changes(const config::gateway_config& a, const config::gateway_config& b) {
  std::vector<std::string> out;
  auto note = [&](bool differs, const char* what) {
    if (differs) out.emplace_back(what);
  };
  note(a.effective_listeners() != b.effective_listeners(), "listeners (addresses, ports, security)");
  note(a.workers != b.workers, "gateway.workers");
  note(a.max_frame_bytes != b.max_frame_bytes, "gateway.max_frame_size");
  note(a.max_buffered_request_bytes != b.max_buffered_request_bytes, "gateway.max_buffered_requests");
  note(a.transform_cache_bytes != b.transform_cache_bytes, "gateway.transform_cache");
  note(a.idle_timeout != b.idle_timeout, "gateway.idle_timeout");
  note(a.upstream_connect_timeout != b.upstream_connect_timeout, "gateway.upstream_connect_timeout");
  note(a.request_read_timeout != b.request_read_timeout, "gateway.request_read_timeout");
  note(a.response_write_timeout != b.response_write_timeout, "gateway.response_write_timeout");
  note(a.failed_authentication_delay != b.failed_authentication_delay, "gateway.failed_authentication_delay");
  note(a.auth_threads != b.auth_threads, "gateway.auth_threads");
  note(a.max_connections != b.max_connections, "gateway.max_connections");
  note(a.upstream_bootstrap != b.upstream_bootstrap || a.embedded != b.embedded, "upstream brokers");
  note(a.upstream_protocol != b.upstream_protocol || a.upstream_tls != b.upstream_tls ||
           a.upstream_sasl != b.upstream_sasl,
       "upstream security");
  note(a.admin != b.admin, "admin (metrics listener)");
  note(a.audit != b.audit, "audit");
  // Anything else that is not live (a setting added later) still counts.
  config::gateway_config rest = b;
  rest.source = a.source;
  rest.principals = a.principals;
  rest.policies = a.policies;
  rest.log_level = a.log_level;
  if (out.empty() && !(rest == a)) out.emplace_back("gateway settings");
  return out;
}

}  // namespace kgw::gateway

#pragma once
// A blocking HTTP GET for the command-line tools that ask a gateway's admin listener something
// (usage, health): http:// or https:// (verified against `ca`, else the system's CAs; or not at
// all with verify = false, for a probe of the gateway's own process over loopback). 10 s bound.
// Threading: call from the main thread.
#include <expected>
#include <string>

namespace kgw::gateway {

struct http_answer {
  int status = 0;
  std::string reason, body;
};

// The answer, or why none came (connection refused, TLS failure, timeout, bad URL).
std::expected<http_answer, std::string> http_get(const std::string& url, const std::string& token,
                                                 const std::string& ca, bool verify = true);
// The body of a 200 answer; any other status is an error naming it.
std::expected<std::string, std::string> http_get_body(const std::string& url, const std::string& token,
                                                      const std::string& ca);

}  // namespace kgw::gateway

#pragma once
// One plain HTTP/1.1 GET on loopback for the admin-listener tests (/metrics, /readyz).
// Threading: a plain function; blocks (bounded by 10 s).
#include <cstdint>
#include <string>

namespace kgw::e2e {

struct http_reply {
  int status = 0;  // 0: no answer
  std::string body;
};

// GET on 127.0.0.1:port, Connection: close, read to the end; with a bearer token when given.
http_reply http_get(std::uint16_t port, const std::string& target, const std::string& token = "");

}  // namespace kgw::e2e

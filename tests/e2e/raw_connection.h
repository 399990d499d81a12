#pragma once
// A raw loopback TCP connection that speaks Kafka frames by hand, for wire-level end-to-end
// tests: what the gateway does without a client library smoothing things over.
// Threading: one test thread.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "protocol/headers.h"
#include "protocol/wire.h"

namespace kgw::e2e {

class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};  // no read waits longer than this
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_connection() { ::close(fd_); }

  void send(const std::vector<std::byte>& b) { send_bytes(b.data(), b.size()); }
  void send_bytes(const std::byte* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w <= 0) return;  // the gateway may already have closed: the read side tells
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  // One response frame body, or nullopt when the connection closed (or timed out: `timed_out`).
  std::optional<std::vector<std::byte>> receive() {
    std::byte size[4];
    if (!read_exact(size, 4)) return std::nullopt;
    const auto n = static_cast<std::uint32_t>(size[0]) << 24 | static_cast<std::uint32_t>(size[1]) << 16 |
                   static_cast<std::uint32_t>(size[2]) << 8 | static_cast<std::uint32_t>(size[3]);
    REQUIRE(n < (64u << 20));
    std::vector<std::byte> body(n);
    if (!read_exact(body.data(), n)) return std::nullopt;
    return body;
  }
  bool timed_out = false;
  // The gateway closed this connection (checked without waiting).
  bool closed_by_peer() const {
    std::byte b;
    const ssize_t r = ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  bool read_exact(std::byte* p, std::size_t n) {
    while (n > 0) {
      const ssize_t r = ::recv(fd_, p, n, 0);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) timed_out = true;
      if (r <= 0) return false;
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  int fd_ = -1;
};

// Decodes a response body with a v0 response header (non-flexible) at `version` and checks its
// correlation id. `body` must outlive the result (it holds views into it).
template <class M>
M decode_response(const std::vector<std::byte>& body, std::int16_t version, std::int32_t corr) {
  protocol::reader r(body);
  protocol::response_header h;
  h.decode(r, 0);
  M m;
  m.decode(r, version);
  REQUIRE(r.ok());
  CHECK(h.correlation_id == corr);
  return m;
}

}  // namespace kgw::e2e

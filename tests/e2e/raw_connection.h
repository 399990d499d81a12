#pragma once
// A raw loopback TCP connection that speaks Kafka frames by hand, for wire-level end-to-end
// tests: what the gateway does without a client library smoothing things over.
// Threading: one thread per connection. Catch2's assertions are not thread-safe: on threads
// other than the test's, open with checked=false and use receive_unchecked().
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
  // checked: a failure to connect fails the test; otherwise connected() tells.
  explicit raw_connection(std::uint16_t port, bool checked = true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (checked) REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (checked) REQUIRE(connected_);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};  // no read waits longer than this
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_connection() { close(); }
  // Closes now (the gateway sees the client leave).
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

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
    auto body = receive_unchecked();
    REQUIRE_FALSE(oversized);
    return body;
  }
  // The same without Catch2 (any thread): a size of 64 MiB or more sets `oversized` and ends.
  std::optional<std::vector<std::byte>> receive_unchecked() {
    std::byte size[4];
    if (!read_exact(size, 4)) return std::nullopt;
    const auto n = static_cast<std::uint32_t>(size[0]) << 24 | static_cast<std::uint32_t>(size[1]) << 16 |
                   static_cast<std::uint32_t>(size[2]) << 8 | static_cast<std::uint32_t>(size[3]);
    if (n >= (64u << 20)) {
      oversized = true;
      return std::nullopt;
    }
    std::vector<std::byte> body(n);
    if (!read_exact(body.data(), n)) return std::nullopt;
    return body;
  }
  bool timed_out = false;
  bool oversized = false;
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
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
  bool connected_ = false;
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

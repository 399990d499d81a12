#include "tests/e2e/scripted_broker.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "protocol/api_keys.h"
#include "protocol/api_versions.h"
#include "protocol/fetch.h"
#include "protocol/frames.h"
#include "protocol/metadata.h"

namespace kgw::e2e {
namespace proto = kgw::protocol;

bool read_exact(int fd, std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

std::vector<std::byte> two_by_two_fetch(std::int16_t version, std::int32_t correlation_id,
                                        std::span<const std::string> records, std::string_view endpoint_host) {
  proto::fetch_response m;
  m.session_id = 7;
  for (int t = 0; t < 2; ++t) {
    auto& topic = m.responses.emplace_back();
    topic.topic = t == 0 ? "first" : "second";
    topic.topic_id[0] = static_cast<std::byte>(t + 1);
    for (int p = 0; p < 2; ++p) {
      auto& part = topic.partitions.emplace_back();
      part.partition_index = p;
      part.high_watermark = 1000;
      part.records = proto::as_bytes(records[static_cast<std::size_t>(t * 2 + p)]);
    }
  }
  if (!endpoint_host.empty()) m.node_endpoints.push_back({1, endpoint_host, 9092, std::string_view("rack-a"), {}});
  proto::writer w;
  proto::response_header h;
  h.correlation_id = correlation_id;
  h.encode(w, proto::response_header_version(proto::fetch_response::api_key, version));
  m.encode(w, version);
  return w.flatten();
}

scripted_broker::scripted_broker(handler h) : handler_(std::move(h)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("scripted_broker: cannot listen on loopback");
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

scripted_broker::~scripted_broker() {
  stopping_ = true;
  acceptor_.join();
  {
    std::lock_guard lk(mu_);
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : threads_) t.join();
  for (int fd : connections_) ::close(fd);
  ::close(listen_fd_);
}

void scripted_broker::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lk(mu_);
    connections_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void scripted_broker::serve(int fd) {
  for (;;) {
    std::byte size[4];
    if (!read_exact(fd, size, 4)) return;
    proto::reader sr{proto::bytes_view(size, 4)};
    const std::int32_t n = sr.i32();
    if (n < 8 || n > (16 << 20)) return;
    std::vector<std::byte> body(static_cast<std::size_t>(n));
    if (!read_exact(fd, body.data(), body.size())) return;
    proto::reader r{proto::bytes_view(body)};
    const std::int16_t key = r.i16(), version = r.i16();
    const std::int32_t corr = r.i32();
    std::vector<std::byte> frame;
    if (key == proto::api::api_versions) {
      proto::api_versions_response a;
      a.api_keys.push_back({proto::api::api_versions, 0, 3, {}});
      a.api_keys.push_back({proto::api::metadata, 0, 12, {}});
      a.api_keys.push_back({proto::api::fetch, 0, 17, {}});
      frame = proto::encode_response(a, 0, corr).flatten();
    } else if (key == proto::api::metadata) {
      proto::metadata_response m;
      m.brokers.push_back({1, "127.0.0.1", static_cast<std::int32_t>(port_), std::nullopt, {}});
      m.controller_id = 1;
      frame = proto::encode_response(m, version, corr).flatten();
    } else {
      auto answer = handler_(key, version, corr);
      proto::writer w;
      w.i32(static_cast<std::int32_t>(answer.size()));
      frame = w.flatten();
      frame.insert(frame.end(), answer.begin(), answer.end());
    }
    if (!write_all(fd, frame.data(), frame.size())) return;
  }
}

}  // namespace kgw::e2e

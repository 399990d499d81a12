#pragma once
// A broker that answers from a script, for relay tests of responses the embedded broker cannot
// produce (Fetch v16+ with KIP-951 node endpoints, say). ApiVersions and Metadata are answered as
// a one-broker cluster would (itself as node 1 on 127.0.0.1), so a gateway can start in front of
// it; every other request gets the frame the test's handler builds.
// Threading: an accept thread and a thread per connection; the handler runs on those, so it must
// be thread-safe. The destructor closes everything and joins.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/wire.h"

namespace kgw::e2e {

class scripted_broker {
 public:
  // The response body (after the 4-byte size, response header included) to a request.
  using handler = std::function<std::vector<std::byte>(std::int16_t api_key, std::int16_t version,
                                                       std::int32_t correlation_id)>;
  explicit scripted_broker(handler h);
  ~scripted_broker();
  scripted_broker(const scripted_broker&) = delete;
  scripted_broker& operator=(const scripted_broker&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  void accept_loop();
  void serve(int fd);

  handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// Whole reads and writes on a blocking socket: false when the peer closed or on an error.
bool read_exact(int fd, std::byte* p, std::size_t n);
bool write_all(int fd, const std::byte* p, std::size_t n);

// A Fetch response body (header included, no size) to script: topics "first" and "second"
// (ids 01.. and 02..) of two partitions each, holding `records` (four, in that order, relayed
// as they are), and a node endpoint for broker 1 at `endpoint_host` (rack "rack-a"; none when
// empty; encoded from v16).
std::vector<std::byte> two_by_two_fetch(std::int16_t version, std::int32_t correlation_id,
                                        std::span<const std::string> records, std::string_view endpoint_host);

}  // namespace kgw::e2e

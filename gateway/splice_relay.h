#pragma once
// The splice relay: moves the bytes of a large pass-through frame from one socket to the other
// through a pipe with splice(2), so they never enter user space. The session uses one for the
// rest of a cut-through response once its buffer is empty, and another for the rest of a
// cut-through Produce request (plain TCP on both sides; TLS must pass through user space to be
// decrypted and encrypted).
// Threading: one per session direction, on its worker's thread.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace kgw::gateway {

class splice_relay {
 public:
  splice_relay() = default;
  splice_relay(const splice_relay&) = delete;
  splice_relay& operator=(const splice_relay&) = delete;
  ~splice_relay();

  // The pipe, opened on first use (two descriptors per session that needs one). False: none
  // could be opened (descriptor limit); the caller reads through its buffer instead.
  bool open();

  // How a move ended: ok, or the connection must end (`reason` for the log, empty when the
  // session is already ending; warn: worth a warning).
  struct outcome {
    bool ok = true;
    std::string reason;
    bool warn = false;
  };
  // What the session counts as the bytes move.
  struct counters {
    std::chrono::steady_clock::time_point& last_activity;  // on each read
    std::uint64_t& bytes;                                  // bytes written on
    std::atomic<std::uint64_t>& spliced;                   // the worker's splice total
  };
  // Which way the bytes go: a response to the client, or a request to the broker (`upstream`
  // names the broker either way, for the log).
  enum class direction { to_client, to_upstream };

  // Moves `left` bytes (left counts down as they go). Needs open().
  boost::asio::awaitable<outcome> move(boost::asio::ip::tcp::socket& upstream, boost::asio::ip::tcp::socket& client,
                                       std::size_t& left, const std::string& upstream_name, counters c,
                                       direction dir = direction::to_client);

 private:
  int read_end_ = -1, write_end_ = -1;
  std::size_t capacity_ = 0;
  bool failed_ = false;
};

}  // namespace kgw::gateway

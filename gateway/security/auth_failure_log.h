#pragma once
// Logs authentication and TLS failures (peer address, what failed, why) at warn level,
// rate-limited per source IP so a client hammering with bad passwords cannot flood the log:
// each address gets `burst` lines per `window`; the rest are counted, and the next line logged
// for that address says how many were suppressed. The budget is keyed on the IP alone, since a
// flood opens a new connection (and port) per attempt.
// Memory is bounded: at most `max_addresses` are tracked; the least recently seen is evicted
// (its pending suppressed count then stays only in suppressed_total()).
// Text is made log-safe: control characters become \xNN (a username must not forge log
// lines) and the reason is cut to max_reason_bytes.
// The same limiter serves other lines a misbehaving peer or an outage multiplies: upstream
// connection failures, keyed on the broker's address (a broker restart closes and refuses every
// client's connection at once) and the listeners' connection limits.
// Threading: one instance per worker thread, no locks; never share an instance between
// threads. Each worker limits on its own, so one address may log up to workers x burst lines
// per window; that keeps the hot path lock-free and still bounds the volume.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace spdlog {
class logger;
}

namespace kgw::security {

class auth_failure_log {
 public:
  using clock = std::chrono::steady_clock;

  static constexpr std::size_t max_reason_bytes = 512;

  // burst and max_addresses below 1 are taken as 1.
  // Lines go to `out` (null: log::auth()) as "{what} {preposition} {address}: {reason}".
  explicit auth_failure_log(int burst = 5, std::chrono::seconds window = std::chrono::seconds(60),
                            std::size_t max_addresses = 4096, spdlog::logger* out = nullptr,
                            const char* preposition = "from");
  // Not copyable: the index holds views of the tracked addresses' strings.
  auth_failure_log(const auth_failure_log&) = delete;
  auth_failure_log& operator=(const auth_failure_log&) = delete;
  auth_failure_log(auth_failure_log&&) = default;
  auth_failure_log& operator=(auth_failure_log&&) = default;

  // `address` is the peer as text: "10.0.0.7", "10.0.0.7:51234", "::1" or "[::1]:51234"; the
  // port is logged but not part of the key. Logs log::auth().warn("{what} from {address}: {reason}")
  // and returns true when within budget; otherwise counts the failure and returns false.
  bool failure(std::string_view address, std::string_view what, std::string_view reason);
  bool failure(std::string_view address, std::string_view what, std::string_view reason, clock::time_point now);

  // Failures not logged since construction, whether or not a later line reported them.
  std::uint64_t suppressed_total() const;
  std::size_t tracked_addresses() const;

  // The part of `address` the budget is keyed on: the IP without port or brackets.
  static std::string_view source_ip(std::string_view address);

 private:
  struct source {
    std::string ip;
    clock::time_point window_start;
    int logged = 0;                // lines logged in the current window
    std::uint64_t suppressed = 0;  // not yet reported in a logged line
  };

  int burst_;
  clock::duration window_;
  spdlog::logger* out_;
  const char* preposition_;
  std::size_t max_addresses_;
  std::uint64_t suppressed_total_ = 0;
  std::list<source> recent_;  // most recently seen first; list nodes keep `ip` (the map key) stable
  std::unordered_map<std::string_view, std::list<source>::iterator> by_ip_;
};

}  // namespace kgw::security

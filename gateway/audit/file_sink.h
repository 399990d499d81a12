#pragma once
// The audit trail's JSON-lines file: appended to, one event per line, created 0600 (events name
// principals and client addresses). Rotated by size (path -> path.1 -> ... -> path.keep, the
// oldest dropped), or left whole for logrotate, which then sends SIGUSR1 so it is reopened at
// its path. A write that fails (disk full, file gone) is cut back to the last whole line, so
// the file never holds half an event, and reported; the file is reopened on the next try.
// Threading: the writer thread; reopen() may be requested from any thread (a flag).
#include <atomic>
#include <mutex>
#include <string>

#include "config/gateway_config.h"
#include "gateway/audit/audit_sink.h"

namespace kgw::gateway::audit {

class file_sink final : public audit_sink {
 public:
  explicit file_sink(config::audit_settings::file_sink s);
  ~file_sink() override;

  const char* name() const override { return "file"; }
  std::size_t write(std::span<const std::string> events) override;
  bool healthy() const override { return !down_.load(std::memory_order_relaxed); }
  std::string last_error() const override;
  void reopen() override { reopen_.store(true, std::memory_order_relaxed); }

 private:
  bool open();
  bool rotate();
  void failed(std::string why);

  config::audit_settings::file_sink s_;
  int fd_ = -1;
  std::size_t size_ = 0;
  std::atomic<bool> reopen_{false};
  std::atomic<bool> down_{false};
  mutable std::mutex error_mu_;
  std::string error_;
  std::string buffer_;
};

}  // namespace kgw::gateway::audit

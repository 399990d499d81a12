#include "gateway/audit/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gateway/logging.h"

namespace kgw::gateway::audit {

file_sink::file_sink(config::audit_settings::file_sink s) : s_(std::move(s)) { open(); }

file_sink::~file_sink() {
  if (fd_ >= 0) ::close(fd_);
}

std::string file_sink::last_error() const {
  std::lock_guard lk(error_mu_);
  return error_;
}

void file_sink::failed(std::string why) {
  if (!down_.exchange(true)) log::audit().error("audit file {}: {}", s_.path, why);
  std::lock_guard lk(error_mu_);
  error_ = std::move(why);
}

bool file_sink::open() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(s_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    failed(std::string("cannot open: ") + std::strerror(errno));
    return false;
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  return true;
}

bool file_sink::rotate() {
  ::close(fd_);
  fd_ = -1;
  for (int i = s_.keep - 1; i >= 1; --i) {
    const std::string from = s_.path + "." + std::to_string(i), to = s_.path + "." + std::to_string(i + 1);
    std::rename(from.c_str(), to.c_str());  // a missing one is fine
  }
  if (std::rename(s_.path.c_str(), (s_.path + ".1").c_str()) != 0)
    log::audit().warn("audit file {}: cannot rotate: {}", s_.path, std::strerror(errno));
  return open();
}

std::size_t file_sink::write(std::span<const std::string> events) {
  if (reopen_.exchange(false, std::memory_order_relaxed) || fd_ < 0) {
    if (!open()) return 0;
  }
  buffer_.clear();
  for (const auto& e : events) {
    buffer_ += e;
    buffer_ += '\n';
  }
  if (s_.max_bytes > 0 && size_ > 0 && size_ + buffer_.size() > s_.max_bytes && !rotate()) return 0;
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::string("write failed: ") + std::strerror(n < 0 ? errno : EIO);
      // Never half an event in the file: back to the last whole line.
      if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
      failed(why);
      return 0;
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += done;
  if (down_.exchange(false)) log::audit().info("audit file {}: writing again", s_.path);
  return events.size();
}

}  // namespace kgw::gateway::audit

// Bounded reads of configured files: see config/bounded_file.h.
#include "config/bounded_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kgw::config {

namespace {

std::string size_text(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::expected<std::string, std::string> read_bounded_file(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::unexpected("cannot open '" + path + "': " + std::strerror(errno));
  fd_closer closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::unexpected("cannot read '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return std::unexpected("'" + path + "' is not a regular file");
  const std::string too_large = "'" + path + "' is larger than " + size_text(max_bytes);
  if (static_cast<unsigned long long>(st.st_size) > max_bytes) return std::unexpected(too_large);
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t have = 0;
  for (;;) {
    if (have == out.size()) {
      if (out.size() > max_bytes) return std::unexpected(too_large);
      out.resize(std::min(max_bytes + 1, out.size() * 2 + 4096));
    }
    const ssize_t n = ::read(fd, out.data() + have, out.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected("cannot read '" + path + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  if (have > max_bytes) return std::unexpected(too_large);
  out.resize(have);
  return out;
}

}  // namespace kgw::config

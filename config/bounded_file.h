#pragma once
// Reading a file named in configuration, with bounds: only a regular file, at most max_bytes.
// A path to /dev/zero, /dev/urandom, a FIFO or a huge file is a clear error at once instead of a
// hang that grows memory without limit. Opened without blocking (a FIFO's open would wait for a
// writer), and read to at most max_bytes + 1 whatever fstat says (files under /proc report 0).
// Threading: a pure function.
#include <cstddef>
#include <expected>
#include <string>

namespace kgw::config {

inline constexpr std::size_t max_config_file_bytes = 16u << 20;  // a gateway config or policy file
inline constexpr std::size_t max_named_file_bytes = 4u << 20;    // certificates, keys, JWKS, secrets

// The file's contents, or why not: "cannot open 'P': No such file or directory", "'P' is not a
// regular file", "'P' is larger than 4 MiB".
std::expected<std::string, std::string> read_bounded_file(const std::string& path, std::size_t max_bytes);

}  // namespace kgw::config

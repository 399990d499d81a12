#pragma once
// The files of one test that runs processes (configs, logs) in a directory of its own under the
// temporary directory, removed when the test is done unless `keep` (set it when the test failed:
// the logs are then there to read).
// Threading: the test's thread.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace kgw::e2e {

struct scratch_dir {
  std::filesystem::path path;
  bool keep;
  // kgw-<name>-<pid> under the temporary directory.
  explicit scratch_dir(const std::string& name, bool keep_until_cleared = false)
      : path(std::filesystem::temp_directory_path() / ("kgw-" + name + "-" + std::to_string(::getpid()))),
        keep(keep_until_cleared) {
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ec;
    if (!keep) std::filesystem::remove_all(path, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

}  // namespace kgw::e2e

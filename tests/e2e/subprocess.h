#pragma once
// Runs a command-line client (kcat, python) as a child process with a hard deadline, feeding it
// stdin and capturing stdout/stderr, so a hung client fails its test instead of hanging ctest.
// Threading: run_process() is self-contained; call it from any thread.
#include <chrono>
#include <string>
#include <vector>

namespace kgw::e2e {

struct process_result {
  int exit_code = -1;  // exit status, or 128 + signal when killed by a signal
  bool timed_out = false;
  std::string out, err;
  std::string describe() const;  // for failure messages: code, timeout, both streams (clipped)
};

// argv[0] is the program path (no PATH search). The child is killed (SIGKILL) at the deadline.
process_result run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                           std::chrono::milliseconds timeout);

}  // namespace kgw::e2e

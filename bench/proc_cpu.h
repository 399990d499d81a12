#pragma once
// CPU time of another process (utime and stime from /proc/PID/stat), for the benches' cost per GB.
// System time is kept apart: a relay's kernel share (TCP on both hops, copies in and out) is a
// floor no user-space work can go below.
// Threading: plain function.
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

namespace kgw::bench {

struct cpu_times {
  double user = 0, system = 0;
  double total() const { return user + system; }
};

// Seconds of CPU the process used so far, in user space and in the kernel; nullopt when its stat
// cannot be read. pid <= 0: zeros.
inline std::optional<cpu_times> process_cpu_times(long pid) {
  if (pid <= 0) return cpu_times{};
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = stat.rfind(')');  // comm may contain spaces; the fields after it are plain
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream f(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && f >> field; ++i) {  // field 3 is state; utime = 14, stime = 15
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const auto tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return cpu_times{static_cast<double>(utime) / tick, static_cast<double>(stime) / tick};
}

inline std::optional<double> process_cpu_seconds(long pid) {
  const auto t = process_cpu_times(pid);
  if (!t) return std::nullopt;
  return t->total();
}

}  // namespace kgw::bench

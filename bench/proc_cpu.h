#pragma once
// CPU time of another process (utime + stime from /proc/PID/stat), for the benches' cost per GB.
// Threading: plain function.
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

namespace kgw::bench {

// Seconds of CPU the process used so far; nullopt when its stat cannot be read. pid <= 0: 0.
inline std::optional<double> process_cpu_seconds(long pid) {
  if (pid <= 0) return 0.0;
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
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace kgw::bench

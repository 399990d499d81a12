#include "tests/e2e/process_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kgw::e2e {

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error("no /proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;
  throw std::runtime_error("no VmRSS in /proc/" + std::to_string(pid) + "/status");
}

std::size_t send_queue_bytes(std::uint16_t local_port) {
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the header
  std::size_t total = 0;
  while (std::getline(tcp, line)) {
    // "  0: 0100007F:4472 0100007F:E8F2 01 00032000:00000000 ..."
    std::istringstream f(line);
    std::string slot, local, remote, state, queues;
    if (!(f >> slot >> local >> remote >> state >> queues)) continue;
    const auto colon = local.find(':');
    if (colon == std::string::npos || state != "01") continue;  // 01: ESTABLISHED
    if (std::stoul(local.substr(colon + 1), nullptr, 16) != local_port) continue;
    total += std::stoull(queues.substr(0, queues.find(':')), nullptr, 16);
  }
  return total;
}

}  // namespace kgw::e2e

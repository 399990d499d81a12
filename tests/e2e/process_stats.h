#pragma once
// What the kernel says about another process (a gateway or broker the test started): CPU time
// used and resident memory, from /proc, for tests that bound them (no spinning while the broker
// is paused, memory bounded under stalled consumers); and the bytes its sockets hold in the
// kernel, which are not in its resident memory.
// Threading: plain functions.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace kgw::e2e {

// User + system CPU seconds the process has used so far (/proc/PID/stat utime + stime).
double cpu_seconds(pid_t pid);

// Its resident memory now (/proc/PID/status VmRSS).
std::size_t resident_bytes(pid_t pid);

// Bytes waiting in the send queues of the established IPv4 TCP connections whose local port is
// `local_port` (/proc/net/tcp tx_queue): what a server wrote that its clients have not taken.
std::size_t send_queue_bytes(std::uint16_t local_port);

}  // namespace kgw::e2e

// An LD_PRELOAD shim for `kafka-gateway dev-cluster` in the fault tests: librdkafka 2.0.2's mock
// binds each broker's listener to 127.0.0.1 port 0 (rd_kafka_mock_broker_new_listener), so a
// replacement broker process would come up on other ports and a gateway configured with the old
// ones could never reach it. With KGW_FIXED_PORTS="p1,p2,..." set, the n-th bind() of an IPv4
// socket to 127.0.0.1:0 in this process takes port pn instead; every other bind() is untouched.
// The mock creates broker 1..N in order, so broker n listens on pn (SO_REUSEADDR is set by the
// mock, so a port its predecessor left in TIME_WAIT is taken at once).
// Threading: bind() may be called from any thread; the port list is consumed atomically.
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace {

using bind_fn = int (*)(int, const sockaddr*, socklen_t);

std::atomic<int> next_port_index{0};

// The index-th port of KGW_FIXED_PORTS, 0 when the list is shorter (or absent).
int fixed_port(int index) {
  const char* list = std::getenv("KGW_FIXED_PORTS");
  if (!list) return 0;
  for (int i = 0; *list; ++i) {
    char* end = nullptr;
    const long port = std::strtol(list, &end, 10);
    if (end == list) return 0;
    if (i == index) return port > 0 && port < 65536 ? static_cast<int>(port) : 0;
    list = *end == ',' ? end + 1 : end;
  }
  return 0;
}

}  // namespace

extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) {
  static const auto real = reinterpret_cast<bind_fn>(dlsym(RTLD_NEXT, "bind"));
  if (addr && len >= sizeof(sockaddr_in) && addr->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    if (in.sin_port == 0 && in.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
      if (const int port = fixed_port(next_port_index.fetch_add(1)); port != 0) {
        in.sin_port = htons(static_cast<std::uint16_t>(port));
        return real(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in);
      }
    }
  }
  return real(fd, addr, len);
}

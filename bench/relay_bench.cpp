// relay_bench: what moving bytes between two loopback TCP connections costs the relaying
// thread, per GB, for the ways a relay can move them. It answers one question behind the
// governed path's cost: how much of it is copying (into the gateway and out again), and how much
// is TCP itself, which no relay avoids.
//
//   relay_bench [GiB]   (default 2; every mode, twice, one line each)
//
// Modes (a source thread writes GiB, a sink thread reads and discards, the relay thread in
// between is measured with RUSAGE_THREAD):
//   copy            recv into a 1 MiB buffer, send it (what a governed response costs in copies)
//   splice          socket -> pipe -> socket, never in user space (pass-through)
//   trunc-send      input discarded unread (recv MSG_TRUNC), output sent from a resident 8 MiB
//                   buffer: a batch served from the transform cache whose input is never read
//   trunc-sendfile  the same, output sent with sendfile from a memfd holding the 8 MiB
// Loopback only; bounded by the byte count. Threading: three threads, each owns its socket.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

int listener(int& port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 4) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("listen");
  port = ntohs(a.sin_port);
  return s;
}

int connect_to(int port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  return s;
}

double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

constexpr std::size_t chunk = 1 << 20;

double run(const std::string& mode, std::size_t total) {
  int in_port = 0, out_port = 0;
  const int in_listener = listener(in_port), out_listener = listener(out_port);
  std::thread source([&] {
    const int s = connect_to(in_port);
    const std::vector<char> b(chunk, 'x');
    for (std::size_t sent = 0; sent < total;) {
      const ssize_t n = send(s, b.data(), std::min(chunk, total - sent), 0);
      if (n <= 0) die("source send");
      sent += static_cast<std::size_t>(n);
    }
    close(s);
  });
  std::thread sink([&] {
    const int s = connect_to(out_port);
    std::vector<char> b(chunk);
    while (recv(s, b.data(), b.size(), 0) > 0) {
    }
    close(s);
  });
  const int in = accept(in_listener, nullptr, nullptr), out = accept(out_listener, nullptr, nullptr);
  if (in < 0 || out < 0) die("accept");

  // The "cache": 8 MiB resident in memory and in a memfd, sent round-robin.
  std::vector<char> cached(8 << 20, 'y');
  const int memfd = memfd_create("relay_bench", 0);
  if (memfd < 0 || write(memfd, cached.data(), cached.size()) != static_cast<ssize_t>(cached.size())) die("memfd");
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) die("pipe");
  fcntl(pipe_fds[0], F_SETPIPE_SZ, static_cast<int>(chunk));
  std::vector<char> buf(chunk);
  std::size_t at = 0;  // next byte of the cache to send
  auto send_cached = [&](std::size_t n) {
    while (n > 0) {
      const std::size_t k = std::min(n, cached.size() - at);
      ssize_t w;
      if (mode == "trunc-sendfile") {
        off_t o = static_cast<off_t>(at);
        w = sendfile(out, memfd, &o, k);
      } else {
        w = send(out, cached.data() + at, k, 0);
      }
      if (w <= 0) die("send");
      at = (at + static_cast<std::size_t>(w)) % cached.size();
      n -= static_cast<std::size_t>(w);
    }
  };
  auto send_all = [&](int from_fd, const char* p, std::size_t n) {
    for (std::size_t w = 0; w < n;) {
      const ssize_t k = from_fd >= 0 ? splice(from_fd, nullptr, out, nullptr, n - w, SPLICE_F_MOVE)
                                     : send(out, p + w, n - w, 0);
      if (k <= 0) die("relay send");
      w += static_cast<std::size_t>(k);
    }
  };

  const double cpu0 = thread_cpu_seconds();
  std::size_t moved = 0;
  for (;;) {
    ssize_t n;
    if (mode == "copy") {
      if ((n = recv(in, buf.data(), chunk, 0)) > 0) send_all(-1, buf.data(), static_cast<std::size_t>(n));
    } else if (mode == "splice") {
      if ((n = splice(in, nullptr, pipe_fds[1], nullptr, chunk, SPLICE_F_MOVE)) > 0)
        send_all(pipe_fds[0], nullptr, static_cast<std::size_t>(n));
    } else {
      if ((n = recv(in, nullptr, chunk, MSG_TRUNC)) > 0) send_cached(static_cast<std::size_t>(n));
    }
    if (n <= 0) break;
    moved += static_cast<std::size_t>(n);
  }
  const double cpu = thread_cpu_seconds() - cpu0;
  close(out);
  source.join();
  sink.join();
  for (int fd : {in, in_listener, out_listener, memfd, pipe_fds[0], pipe_fds[1]}) close(fd);
  if (moved != total) {
    std::fprintf(stderr, "%s: moved %zu of %zu bytes\n", mode.c_str(), moved, total);
    std::exit(1);
  }
  return cpu / (static_cast<double>(moved) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  const double gib = argc > 1 ? std::atof(argv[1]) : 2.0;
  if (gib <= 0 || gib > 64) {
    std::fprintf(stderr, "usage: relay_bench [GiB, 0-64]\n");
    return 2;
  }
  const auto total = static_cast<std::size_t>(gib * (1u << 30));
  for (int round = 1; round <= 2; ++round)
    for (const char* mode : {"copy", "splice", "trunc-send", "trunc-sendfile"})
      std::printf("round %d %-15s %.3f relay-thread CPU-s per GB\n", round, mode, run(mode, total));
  return 0;
}

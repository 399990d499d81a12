// frame_buffer's memory: a buffer that must grow for a large frame takes a spare buffer this
// thread already faulted in (keeping the bytes it holds), and gives its smaller one back.
#include <catch2/catch.hpp>
#include <cstring>

#include "gateway/frame_buffer.h"

namespace kgw::gateway {
namespace {

// Fills the buffer's next `n` bytes with a pattern from `seed` and commits them.
void put(frame_buffer& b, std::size_t n, unsigned seed) {
  auto space = b.prepare(n);
  REQUIRE(space.size() >= n);
  for (std::size_t i = 0; i < n; ++i) space[i] = static_cast<std::byte>(seed + i * 7);
  b.commit(n);
}

bool holds(const frame_buffer& b, std::size_t at, std::size_t n, unsigned seed) {
  const auto d = b.data();
  for (std::size_t i = 0; i < n; ++i)
    if (d[at + i] != static_cast<std::byte>(seed + i * 7)) return false;
  return true;
}

TEST_CASE("frame_buffer: growing for a large frame takes a spare with room and keeps the bytes") {
  while (spare_buffers().take_any().capacity() > 0) {
  }  // this thread's spares, from earlier tests: none
  const std::byte* large_memory = nullptr;
  {
    frame_buffer small, large;  // a small frame and a large response, each read, then released
    put(small, 1000, 0);
    put(large, 4u << 20, 1);
    large_memory = large.data().data();
    for (auto* f : {&small, &large}) {
      f->consume(f->data().size());
      f->release();
    }
  }
  frame_buffer b;
  put(b, 1000, 2);  // the first bytes of the next response (its size prefix among them)
  CHECK(b.data().data() != large_memory);  // a read of 64 KiB takes the small spare
  b.consume(10);                           // parsed up to here
  auto space = b.prepare(3u << 20);        // the rest of the frame: more than the buffer holds
  REQUIRE(space.size() >= (3u << 20));
  CHECK(b.data().data() == large_memory);  // the large spare, not fresh memory
  CHECK(b.data().size() == 990);
  CHECK(holds(b, 0, 990, 2 + 10 * 7));  // the bytes still unparsed moved with it
  b.commit(3u << 20);
  CHECK(b.data().size() == 990 + (3u << 20));
}

TEST_CASE("frame_buffer: without a spare large enough it grows in place") {
  frame_buffer b;
  put(b, 100, 3);
  auto space = b.prepare(20u << 20);  // larger than any spare kept (8 MiB each)
  REQUIRE(space.size() >= (20u << 20));
  CHECK(holds(b, 0, 100, 3));
}

}  // namespace
}  // namespace kgw::gateway

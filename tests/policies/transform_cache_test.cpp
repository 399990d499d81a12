// The shared transform cache (policies/transform_cache.h): hits give back exactly what was
// stored and its counts, keys that differ in any part miss, the byte bound holds with CLOCK
// keeping what was hit, and readers racing writers (run under ASan by the CI) never see freed
// or foreign bytes.
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "policies/transform_cache.h"

using kgw::policies::batch_key;
using kgw::policies::tally;
using kgw::policies::tally_counts;
using kgw::policies::transform_cache;
using found = transform_cache::found;

namespace {

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}
std::string text(const std::vector<std::byte>& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

batch_key key(std::uint64_t view, std::int64_t offset, std::int32_t partition = 0, std::uint32_t crc = 7,
              std::uint32_t length = 100) {
  batch_key k;
  k.stages = {view, 0};
  k.base_offset = offset;
  k.partition = partition;
  k.crc = crc;
  k.length = length;
  return k;
}

tally_counts delivered(std::uint64_t n) {
  tally_counts c{};
  c[static_cast<std::size_t>(tally::records_delivered)] = n;
  return c;
}
std::uint64_t delivered_of(const tally_counts& c) { return c[static_cast<std::size_t>(tally::records_delivered)]; }

}  // namespace

TEST_CASE("transform cache: a hit appends the stored batch and adds its counts; every key part tells entries apart") {
  transform_cache cache(1 << 20);
  const auto input = bytes_of("as-received");
  const auto governed = bytes_of("governed-batch");
  std::vector<std::byte> out = bytes_of("head:");
  tally_counts counts{};
  CHECK(cache.find(key(1, 100), input, out, counts) == found::no);
  cache.insert(key(1, 100), false, governed, delivered(3));
  cache.insert(key(1, 200), true, {}, delivered(5));  // left as received

  CHECK(cache.find(key(1, 100), input, out, counts) == found::rewritten);
  CHECK(text(out) == "head:governed-batch");
  CHECK(delivered_of(counts) == 3);
  CHECK(cache.find(key(1, 200), input, out, counts) == found::unchanged);
  CHECK(text(out) == "head:governed-batchas-received");
  CHECK(delivered_of(counts) == 8);

  // Another view, partition, offset, CRC, length or second stage: another output.
  batch_key second_stage = key(1, 100);
  second_stage.stages[1] = 9;
  for (const batch_key& k : {key(2, 100), key(1, 100, 1), key(1, 101), key(1, 100, 0, 8), key(1, 100, 0, 7, 101),
                             second_stage}) {
    const std::size_t before = out.size();
    CHECK(cache.find(k, input, out, counts) == found::no);
    CHECK(out.size() == before);
  }
  CHECK(delivered_of(counts) == 8);
  // A second insert of a present key keeps the first entry.
  cache.insert(key(1, 100), false, bytes_of("other"), delivered(1));
  out.clear();
  CHECK(cache.find(key(1, 100), input, out, counts) == found::rewritten);
  CHECK(text(out) == "governed-batch");
  const auto s = cache.snapshot();
  CHECK(s.hits == 3);
  CHECK(s.misses == 7);
  CHECK(s.inserted == 2);
  CHECK(s.entries == 2);
}

TEST_CASE("transform cache: bounded in bytes; the hand evicts what was not hit since it last passed") {
  const std::string payload(10'000, 'x');
  transform_cache cache(64 * 1024);
  std::vector<std::byte> out;
  tally_counts counts{};
  cache.insert(key(1, 0), false, bytes_of(payload), delivered(1));  // hit before each insert: kept
  for (int i = 1; i < 40; ++i) {
    out.clear();
    REQUIRE(cache.find(key(1, 0), {}, out, counts) == found::rewritten);
    cache.insert(key(1, i), false, bytes_of(payload + std::to_string(i)), delivered(1));
    CHECK(cache.snapshot().bytes <= cache.capacity());
  }
  const auto s = cache.snapshot();
  CHECK(s.entries >= 5);
  CHECK(s.entries <= 6);
  CHECK(s.evicted == 40 - s.entries);
  out.clear();
  CHECK(cache.find(key(1, 0), {}, out, counts) == found::rewritten);  // the hot one survived
  CHECK(cache.find(key(1, 1), {}, out, counts) == found::no);         // an old cold one did not
  CHECK(cache.find(key(1, 39), {}, out, counts) == found::rewritten);  // the newest is there

  // A batch larger than the whole cache is not kept (it would evict everything).
  cache.insert(key(1, 1000), false, bytes_of(std::string(70'000, 'y')), delivered(1));
  CHECK(cache.find(key(1, 1000), {}, out, counts) == found::no);
  CHECK(cache.snapshot().entries == s.entries);
}

TEST_CASE("transform cache: readers racing writers get exactly the bytes stored under their key") {
  // Small: every insert evicts, so entries are unlinked and freed while others read.
  transform_cache cache(16 * 1024);
  auto content = [](int k) { return "batch " + std::to_string(k) + ":" + std::string(static_cast<std::size_t>(k) * 37 % 900, 'a' + k % 26); };
  std::atomic<int> wrong{0};
  std::atomic<std::uint64_t> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<std::byte> out;
      tally_counts counts{};
      std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(t) * 7919u;
      for (int i = 0; i < 20'000; ++i) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;  // xorshift
        const int k = static_cast<int>(x % 48);
        out.clear();
        counts = {};
        switch (cache.find(key(1, k), {}, out, counts)) {
          case found::no: cache.insert(key(1, k), false, bytes_of(content(k)), delivered(static_cast<std::uint64_t>(k))); break;
          case found::unchanged: ++wrong; break;
          case found::rewritten:
            ++hits;
            if (text(out) != content(k) || delivered_of(counts) != static_cast<std::uint64_t>(k)) ++wrong;
            break;
        }
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(hits > 0);
  const auto s = cache.snapshot();
  CHECK(s.bytes <= cache.capacity());
  CHECK(s.evicted > 0);
}

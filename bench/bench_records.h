#pragma once
// The benchmark's records: JSON customers ({"id":..,"name":..,"email":..,"phone":..,"region":..,
// "consent":{"marketing":..},"ltv":..,"notes":"<padding>"}) of exactly record_size bytes, from a
// deterministic pool, shared by gateway_bench and json_bench (so the micro-benchmark parses
// what the end-to-end one sends).
// Threading: plain functions.
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::bench {

struct bench_record {
  std::string value;  // JSON, exactly record_size bytes
  bool consent;       // consent.marketing: kept by the row filter
};

// 1009 (prime) so that record i's pool entry and its partition (i % partitions) mix well.
inline constexpr std::size_t pool_size = 1009;
inline constexpr int min_record_size = 256;

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Deterministic: the same pool on every run and machine. About half consent to marketing.
inline std::vector<bench_record> make_records(int record_size) {
  static constexpr const char* first[] = {"Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances"};
  static constexpr const char* last[] = {"Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen"};
  static constexpr const char* local[] = {"ada", "grace.h", "alan_t", "kj", "edsger", "barbara", "don.knuth", "fran"};
  static constexpr const char* domain[] = {"example.com", "example.org", "mail.example.net", "customers.example.co.uk"};
  static constexpr const char* region[] = {"US-WEST", "US-EAST", "EU-CENTRAL", "APAC", "LATAM"};
  static constexpr std::string_view pad_chars = "abcdefghijklmnopqrstuvwxyz0123456789 ";
  std::vector<bench_record> pool;
  pool.reserve(pool_size);
  for (std::size_t id = 0; id < pool_size; ++id) {
    const std::uint64_t h = splitmix64(id);
    const bool consent = (h & 1) != 0;
    char phone[16], ltv[32];
    std::snprintf(phone, sizeof phone, "+1-555-%04u", static_cast<unsigned>((h >> 40) % 10000));
    std::snprintf(ltv, sizeof ltv, "%u.%02u", static_cast<unsigned>((h >> 24) % 5000), static_cast<unsigned>((h >> 52) % 100));
    std::string v = "{\"id\":" + std::to_string(id) + ",\"name\":\"" + first[(h >> 4) % 8] + " " + last[(h >> 8) % 8] +
                    "\",\"email\":\"" + local[(h >> 12) % 8] + std::to_string(id) + "@" + domain[(h >> 16) % 4] +
                    "\",\"phone\":\"" + phone + "\",\"region\":\"" + region[(h >> 20) % 5] +
                    "\",\"consent\":{\"marketing\":" + (consent ? "true" : "false") + "},\"ltv\":" + ltv +
                    ",\"notes\":\"";
    const std::string_view tail = "\"}";
    if (v.size() + tail.size() > static_cast<std::size_t>(record_size))
      throw std::invalid_argument("--record-size " + std::to_string(record_size) + " is too small for the JSON records");
    std::uint64_t s = h;
    while (v.size() + tail.size() < static_cast<std::size_t>(record_size)) {
      s = splitmix64(s);
      v += pad_chars[s % pad_chars.size()];
    }
    v += tail;
    pool.push_back({std::move(v), consent});
  }
  return pool;
}

}  // namespace kgw::bench

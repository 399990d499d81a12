#pragma once
// What must hold for ANY bytes given to the record-batch readers (split_records,
// read_batch_header, decode_batch): entries tile the input, views stay inside the input or the
// decompressed buffer, a decoded batch re-encodes with its own header and decodes to the same
// records, and a failure has a clean message. Shared by the fixed-seed fuzz test
// (record_batch_fuzz_test.cpp) and the libFuzzer target (tests/fuzz/record_batch_fuzz.cpp).
// Threading: one batch_checker per thread.
#include <cstddef>
#include <string>
#include <vector>

#include "protocol/record_batch.h"

namespace kgw::protocol::testing {

struct fuzz_stats {
  std::size_t inputs = 0, decoded = 0, failed = 0;
  std::vector<std::string> problems;  // broken invariants (kept short)
  void problem(std::string s) {
    if (problems.size() < 20) problems.push_back(std::move(s));
  }
  std::string report() const;  // counts, then one line per problem
};

// Decoding is bounded by this many decompressed bytes (re-decoding by twice as many).
inline constexpr std::size_t batch_check_limit = 1 << 20;

// Runs all three readers over one input and records any broken invariant in st. d and entries
// are scratch (reused across calls, as the gateway reuses them).
void check_batch_readers(bytes_view input, fuzz_stats& st, decoded_batch& d, std::vector<records_entry>& entries);

// Valid batches for every codec (and both snappy framings), 0, 1, 9 and 40 records, with null
// keys and values and headers: the starting points for hostile variants (and fuzz seeds).
std::vector<std::vector<std::byte>> valid_batches();

// Helpers for building hostile batches: big-endian int32 at pos, a zig-zag varint, the CRC and
// the batch length made right for the bytes as they are.
void put_be32(std::vector<std::byte>& b, std::size_t pos, std::uint32_t v);
void append_varint(std::vector<std::byte>& b, std::int32_t v);
void fix_crc(std::vector<std::byte>& b);
void fix_length(std::vector<std::byte>& b);

}  // namespace kgw::protocol::testing

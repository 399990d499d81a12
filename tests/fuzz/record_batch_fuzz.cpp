// libFuzzer target: record batches (protocol/record_batch.h) and the five codecs
// (protocol/compression.h). Input: a mode byte, then the bytes.
//   mode & 3 == 0  the bytes as a records field: split, header, decode, re-encode
//                  (tests/protocol/record_batch_checks.h: views never leave the input or the
//                  decompressed buffer, a decoded batch re-encodes and decodes to the same
//                  records and headers, errors are clean)
//   mode & 3 == 1  the same after making the batch length and CRC-32C right, so mutations get
//                  past the CRC into the codecs and the record parser
//   mode & 3 >= 2  the bytes as a compressed stream of codec (mode >> 2) % 5: what decompresses
//                  stays within the bound, compresses again and decompresses to the same bytes
// Each input is copied to a buffer of exactly its size first, so an over-read is an ASan report.
// Seeds: valid batches of every codec (record_batch_checks.h) and their payloads.
#include <algorithm>
#include <vector>

#include "fuzz_check.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "tests/protocol/record_batch_checks.h"

namespace proto = kgw::protocol;
namespace pt = kgw::protocol::testing;
using kgw::fuzz::require;

namespace {

void check_codec(proto::compression_codec c, const std::vector<std::byte>& in) {
  constexpr std::size_t bound = 1 << 20;
  std::vector<std::byte> plain;
  bool xerial = false;
  const auto d = proto::decompress(c, in, plain, bound, &xerial);
  if (!d) {
    require(!d.error().empty(), "decompress failed without a message");
    return;
  }
  require(plain.size() <= bound, "decompress went past its bound");
  std::vector<std::byte> packed;
  const auto p = proto::compress(c, plain, packed, xerial);
  require(p.has_value(), "what decompressed does not compress", p ? "" : p.error());
  std::vector<std::byte> again;
  const auto d2 = proto::decompress(c, packed, again, bound);
  require(d2.has_value(), "what the gateway compressed does not decompress", d2 ? "" : d2.error());
  require(again == plain, "compress/decompress round trip changed the bytes", proto::name_of(c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::vector<std::byte> in(reinterpret_cast<const std::byte*>(data + 1), reinterpret_cast<const std::byte*>(data + size));
  if ((mode & 3) >= 2) {
    check_codec(static_cast<proto::compression_codec>((mode >> 2) % 5), in);
    return 0;
  }
  if ((mode & 3) == 1) {
    pt::fix_length(in);
    pt::fix_crc(in);
  }
  static pt::fuzz_stats st;
  static proto::decoded_batch d;
  static std::vector<proto::records_entry> entries;
  st.problems.clear();
  pt::check_batch_readers(in, st, d, entries);
  if (!st.problems.empty()) kgw::fuzz::fail("record batch reader invariant", st.report());
  return 0;
}

#pragma once
// Governed record batches shared between sessions whose principals run the same record stages.
// Four consumer groups reading a topic through one view would otherwise decode, filter, mask and
// re-encode every batch four times; with this the first fetch of a batch governs it and the
// others copy the result.
//
// What makes two outputs identical is the key: the output identities of the stages run (see
// record_stage::output_identity: unique per compiled view, so per configuration generation, and
// never shared by views that differ), the partition, and the batch's base offset, length,
// leader epoch and CRC. The CRC is checked against the bytes before a lookup (as decoding would),
// so the rest of the batch is the one governed, and a corrupt batch still fails its partition. Stages whose output depends on more than the record (decryption:
// keys come and go) have no identity and are never cached.
//
// Bounded in bytes (entries are charged their output plus bookkeeping); eviction is CLOCK
// (second chance), an approximation of LRU that lets a hit mark its entry without a lock.
//
// Threading: one cache per gateway, shared by every worker. find() takes no lock: entries are
// immutable, reached through atomic bucket chains, and freed only once no reader that could
// still see them is inside find() (epoch-based reclamation over one announcement slot per
// thread). insert() serialises writers on a mutex; it runs only after a miss, which cost a whole
// batch's governing. A thread beyond the slot table misses (correct, just uncached).
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "policies/decision.h"
#include "protocol/wire.h"

namespace kgw::policies {

struct batch_key {
  std::array<std::uint64_t, 2> stages{};  // output identities of the stages run, in order (0: none)
  std::int64_t base_offset = 0;
  std::int32_t partition = 0;
  std::int32_t leader_epoch = 0;  // the batch header's, which its CRC does not cover
  std::uint32_t crc = 0;     // as the batch carries it, checked against its bytes before a lookup
  std::uint32_t length = 0;  // of the whole batch, header included
  bool operator==(const batch_key&) const = default;
};

class transform_cache {
 public:
  explicit transform_cache(std::size_t capacity_bytes);
  ~transform_cache();
  transform_cache(const transform_cache&) = delete;
  transform_cache& operator=(const transform_cache&) = delete;

  // On a hit: appends the governed batch to `out` (`input`, the batch as received, when the
  // stages left it unchanged) and adds what governing it counted to `counts`.
  enum class found { no, unchanged, rewritten };
  found find(const batch_key& key, protocol::bytes_view input, std::vector<std::byte>& out, tally_counts& counts);
  // After a miss: what governing the batch gave. unchanged: the batch stays as received
  // (`governed` is ignored). A key already present (another worker was faster) keeps its entry.
  void insert(const batch_key& key, bool unchanged, protocol::bytes_view governed, const tally_counts& counts);

  struct stats {
    std::uint64_t hits = 0, misses = 0, inserted = 0, evicted = 0;
    std::size_t bytes = 0, entries = 0;
  };
  stats snapshot() const;
  std::size_t capacity() const { return capacity_; }

 private:
  struct entry;
  void unlink(entry* e);
  void reclaim();

  const std::size_t capacity_;
  std::size_t mask_;  // bucket count - 1 (a power of two)
  std::unique_ptr<std::atomic<entry*>[]> buckets_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0};

  mutable std::mutex write_mu_;  // guards everything below (writers, stats)
  std::deque<entry*> clock_;  // every linked entry, oldest first
  std::vector<std::pair<entry*, std::uint64_t>> retired_;  // unlinked, with the epoch they left at
  std::size_t bytes_ = 0;
  std::uint64_t inserted_ = 0, evicted_ = 0;
};

}  // namespace kgw::policies

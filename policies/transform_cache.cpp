#include "policies/transform_cache.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace kgw::policies {
namespace {

// Epoch-based reclamation, one domain for every cache in the process. A reader announces the
// global epoch in its thread's slot for the length of one lookup; an entry unlinked when the
// epoch was r is freed once every announced epoch is above r (those readers started after it
// was unreachable) or 0 (outside a lookup). Every access is seq_cst: a reader's announcement
// must be ordered before its loads of the chains, and on x86 the loads cost nothing more.
constexpr std::size_t max_readers = 256;
struct alignas(64) reader_slot {
  std::atomic<std::uint64_t> epoch{0};  // 0: not inside a lookup
  std::atomic<bool> taken{false};
};
reader_slot slots[max_readers];
std::atomic<std::uint64_t> global_epoch{1};

// A thread's slot, taken on its first lookup and given back when the thread ends.
struct slot_owner {
  reader_slot* slot = nullptr;
  slot_owner() {
    for (auto& s : slots) {
      bool free = false;
      if (s.taken.compare_exchange_strong(free, true)) {
        slot = &s;
        return;
      }
    }
  }
  ~slot_owner() {
    if (!slot) return;
    slot->epoch.store(0);
    slot->taken.store(false);
  }
};
reader_slot* my_slot() {
  thread_local slot_owner owner;
  return owner.slot;
}

// The oldest epoch a reader inside a lookup announced; max when none is.
std::uint64_t oldest_reader() {
  std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
  for (const auto& s : slots) {
    const std::uint64_t e = s.epoch.load();
    if (e != 0 && e < oldest) oldest = e;
  }
  return oldest;
}

std::size_t hash_of(const batch_key& k) {
  // Offsets and CRCs are already well spread; mix so that neighbouring offsets of one partition
  // and the same offsets of different partitions land apart.
  std::uint64_t h = k.stages[0] * 0x9E3779B97F4A7C15ull ^ k.stages[1] * 0xC2B2AE3D27D4EB4Full;
  h ^= static_cast<std::uint64_t>(k.base_offset) * 0x165667B19E3779F9ull;
  h ^= (static_cast<std::uint64_t>(k.crc) << 32 | static_cast<std::uint32_t>(k.partition)) * 0x27D4EB2F165667C5ull;
  h ^= static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.leader_epoch)) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return static_cast<std::size_t>(h ^ k.length);
}

constexpr std::size_t entry_overhead = 192;  // the entry, its allocation, its clock slot
}  // namespace

struct transform_cache::entry {
  batch_key key;
  std::size_t hash = 0;
  bool unchanged = false;
  std::vector<std::byte> bytes;
  tally_counts counts{};
  std::atomic<entry*> next{nullptr};
  mutable std::atomic<bool> referenced{false};  // hit since the clock hand last passed (readers set it)
  std::size_t charge() const { return bytes.size() + entry_overhead; }
};

transform_cache::transform_cache(std::size_t capacity_bytes) : capacity_(capacity_bytes) {
  // About one bucket per 4 KiB of capacity (a governed batch is usually larger), 64 at least.
  const std::size_t want = std::clamp<std::size_t>(capacity_bytes / 4096, 64, std::size_t{1} << 20);
  const std::size_t n = std::bit_ceil(want);
  mask_ = n - 1;
  buckets_ = std::make_unique<std::atomic<entry*>[]>(n);
}

transform_cache::~transform_cache() {
  // No reader may be inside find() now (the owner outlives the sessions).
  for (entry* e : clock_) delete e;
  for (auto& [e, epoch] : retired_) delete e;
}

transform_cache::found transform_cache::find(const batch_key& key, protocol::bytes_view input,
                                             std::vector<std::byte>& out, tally_counts& counts) {
  reader_slot* me = my_slot();
  if (!me) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return found::no;
  }
  const std::size_t h = hash_of(key);
  me->epoch.store(global_epoch.load());
  const entry* e = buckets_[h & mask_].load();
  while (e && !(e->hash == h && e->key == key)) e = e->next.load();
  found what = found::no;
  if (e) {
    what = e->unchanged ? found::unchanged : found::rewritten;
    if (e->unchanged)
      out.insert(out.end(), input.begin(), input.end());
    else
      out.insert(out.end(), e->bytes.begin(), e->bytes.end());
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += e->counts[i];
    // Only the first hit since the hand passed writes the line other readers share.
    if (!e->referenced.load(std::memory_order_relaxed))
      e->referenced.store(true, std::memory_order_relaxed);
  }
  me->epoch.store(0);
  (e ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return what;
}

void transform_cache::insert(const batch_key& key, bool unchanged, protocol::bytes_view governed,
                             const tally_counts& counts) {
  auto fresh = std::make_unique<entry>();
  fresh->key = key;
  fresh->hash = hash_of(key);
  fresh->unchanged = unchanged;
  if (!unchanged) fresh->bytes.assign(governed.begin(), governed.end());
  fresh->counts = counts;
  if (fresh->charge() > capacity_) return;  // would evict everything for one batch
  std::lock_guard lock(write_mu_);
  std::atomic<entry*>& bucket = buckets_[fresh->hash & mask_];
  for (entry* e = bucket.load(); e; e = e->next.load())
    if (e->hash == fresh->hash && e->key == key) return;
  bytes_ += fresh->charge();
  ++inserted_;
  entry* e = fresh.release();
  e->next.store(bucket.load());
  bucket.store(e);  // published whole: readers see it only from here
  clock_.push_back(e);
  // The hand: an entry hit since it last came round goes to the back once more; the first that
  // was not is evicted. Bounded, in case readers keep marking everything.
  std::size_t turns = 2 * clock_.size();
  while (bytes_ > capacity_ && !clock_.empty()) {
    entry* old = clock_.front();
    clock_.pop_front();
    if (old != e && turns-- > 0 && old->referenced.exchange(false, std::memory_order_relaxed)) {
      clock_.push_back(old);
      continue;
    }
    unlink(old);
  }
  reclaim();
}

void transform_cache::unlink(entry* e) {
  std::atomic<entry*>* link = &buckets_[e->hash & mask_];
  while (link->load() != e) link = &link->load()->next;
  link->store(e->next.load());
  bytes_ -= e->charge();
  ++evicted_;
  retired_.emplace_back(e, global_epoch.fetch_add(1));
}

void transform_cache::reclaim() {
  if (retired_.empty()) return;
  const std::uint64_t oldest = oldest_reader();
  std::erase_if(retired_, [&](const std::pair<entry*, std::uint64_t>& r) {
    if (r.second >= oldest) return false;  // a reader that may still hold it is inside find()
    delete r.first;
    return true;
  });
}

transform_cache::stats transform_cache::snapshot() const {
  stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  std::lock_guard lock(write_mu_);
  s.inserted = inserted_;
  s.evicted = evicted_;
  s.bytes = bytes_;
  s.entries = clock_.size();
  return s;
}

}  // namespace kgw::policies

// The instance's data keys: see policies/encryption/key_manager.h.
#include "policies/encryption/key_manager.h"

#include "policies/decision.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

namespace kgw::policies::encryption {
namespace {

using clock = std::chrono::steady_clock;

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using id_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fresh DEK id: "k" and 32 hex digits of randomness (unique across instances without asking).
std::optional<std::string> new_key_id() {
  unsigned char r[16];
  if (RAND_bytes(r, sizeof r) != 1) return std::nullopt;
  static const char hex[] = "0123456789abcdef";
  std::string id = "k";
  for (unsigned char c : r) {
    id.push_back(hex[c >> 4]);
    id.push_back(hex[c & 15]);
  }
  return id;
}

// A manager's identity for the per-thread caches (an address could be reused by a later one).
std::atomic<std::uint64_t> next_serial{1};

}  // namespace

const char* name_of(key_state s) {
  switch (s) {
    case key_state::ready: return "ready";
    case key_state::pending: return "pending";
    case key_state::unavailable: return "unavailable";
    case key_state::erased: return "erased";
    case key_state::missing: return "missing";
  }
  return "?";
}

// A DEK this instance seals with.
struct sealing_entry {
  std::shared_ptr<const data_key> key;
  clock::time_point made;
  std::int64_t created_ms = 0;  // wall clock, as stored (rotation requests compare with it)
  std::atomic<std::uint64_t> uses{0};
  std::atomic<bool> successor_asked{false};
};

struct key_manager::state {
  using done_fn = std::function<void(std::expected<void, std::string>)>;

  key_limits limits;
  std::unique_ptr<key_store> store;
  const std::uint64_t serial = next_serial++;

  // The key maps (shared lock from relay threads, exclusive from the manager's thread).
  mutable std::shared_mutex mu;
  std::map<key_scope, std::shared_ptr<sealing_entry>> sealing;
  id_map<std::shared_ptr<const data_key>> opening;
  id_map<stored_key> records;  // what the store holds, wrapped (list, shred)
  id_map<key_state> unusable;  // erased, missing, unavailable
  std::vector<stored_key> retry_unwrap;  // unavailable: tried again on every pass
  std::atomic<std::uint64_t> epoch{0};  // bumped when a key becomes unusable: per-thread caches drop theirs

  // Work for the manager's thread.
  mutable std::mutex task_mu;
  std::condition_variable wake;
  bool stopping = false;
  bool exited = false;     // run() returned (task_mu)
  bool abandoned = false;  // stop() left the thread behind: the store is its own from then on
  std::condition_variable done;
  std::vector<std::pair<std::vector<key_scope>, done_fn>> prepares;
  std::set<key_scope> successors;
  std::set<std::string, std::less<>> asked;  // unknown ids met by relay threads
  std::string last_error;                    // of making keys (task_mu)
  std::thread thread;
  const decision_stream* decisions = nullptr;  // set before start()

  // One key operation on the decision stream (the audit trail's kafka.gateway.keys).
  void report(std::string_view operation, std::string_view id, bool ok, const std::string& detail) const {
    if (!decisions || !decisions->active()) return;
    decision d;
    d.kind = decision_kind::key;
    d.operation = operation;
    d.resource_type = "key";
    d.resource = id;
    d.accepted = ok;
    d.detail = detail;
    decisions->emit(d);
  }

  bool usable(const sealing_entry& e, std::uint64_t extra) const {
    return e.uses.load(std::memory_order_relaxed) + extra <= limits.max_uses && clock::now() - e.made < limits.max_age;
  }
};

key_manager::key_manager(std::shared_ptr<const kms> kms, std::unique_ptr<key_store> store, key_limits limits)
    : kms_(std::move(kms)), s_(std::make_shared<state>()) {
  s_->limits = limits;
  s_->store = std::move(store);
}

key_manager::~key_manager() { stop(); }

void key_manager::stop() {
  {
    std::lock_guard lock(s_->task_mu);
    s_->stopping = true;
  }
  s_->wake.notify_all();
  bool left_behind = false;
  if (s_->thread.joinable()) {
    std::unique_lock lock(s_->task_mu);
    const bool finished = s_->done.wait_for(lock, s_->limits.stop_wait, [&] { return s_->exited; });
    lock.unlock();
    if (finished) {
      s_->thread.join();
    } else {
      s_->thread.detach();  // it holds the state and the KMS; the store stays with it
      left_behind = true;
      s_->abandoned = true;
    }
  }
  left_behind = left_behind || s_->abandoned;
  std::vector<std::pair<std::vector<key_scope>, state::done_fn>> left;
  {
    std::lock_guard lock(s_->task_mu);
    left.swap(s_->prepares);
  }
  for (auto& [scope, done] : left) done(std::unexpected(std::string("the gateway is stopping")));
  if (!left_behind) s_->store.reset();  // its clients close now, while the cluster may still be there
}

namespace {

// Room for `adding` more ids remembered as missing (s.mu held exclusively): past the limit, every
// one remembered so is forgotten (each is asked for again when met, which finds it missing again).
void make_room_for_unknown(key_manager::state& s, std::size_t adding) {
  if (s.unusable.size() + adding <= s.limits.max_unknown_ids) return;
  std::erase_if(s.unusable, [](const auto& e) { return e.second == key_state::missing; });
}

// A rotation request's topic ("*": all) and time, from its record; nullopt if it is not one.
std::optional<std::pair<std::string, std::int64_t>> rotation_request(std::string_view id, std::string_view value) {
  constexpr std::string_view prefix = "rotate.", body = "kgw1 rotate before=";
  if (!id.starts_with(prefix) || !value.starts_with(body)) return std::nullopt;
  std::int64_t before = 0;
  const auto v = value.substr(body.size());
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), before);
  if (ec != std::errc()) return std::nullopt;
  return std::pair{std::string(id.substr(prefix.size())), before};
}

// Reads what the store holds since the last pass into the maps (the manager's thread only).
// Without a KMS (operator tools listing or shredding keys) keys are catalogued, not opened.
std::expected<void, std::string> follow(key_manager::state& s, const kms* kms) {
  std::vector<stored_key> fresh;
  std::vector<std::string> gone, bad;
  std::vector<std::pair<std::string, std::int64_t>> rotations;
  auto read = s.store->read_new([&](std::string_view id, std::optional<std::string_view> value) {
    if (!value) {
      gone.emplace_back(id);
      return;
    }
    if (auto r = rotation_request(id, *value)) {
      rotations.push_back(std::move(*r));
      return;
    }
    auto k = decode_stored_key(id, *value);
    if (!k) {
      bad.emplace_back(id);
      return;
    }
    fresh.push_back(std::move(*k));
  });
  fresh.insert(fresh.end(), std::make_move_iterator(s.retry_unwrap.begin()), std::make_move_iterator(s.retry_unwrap.end()));
  s.retry_unwrap.clear();
  // Unwrap outside the lock (the KMS may be slow); keys already open (our own) are skipped.
  std::vector<std::pair<stored_key, std::shared_ptr<const data_key>>> opened;
  std::vector<std::pair<stored_key, key_state>> failed;
  for (auto& k : fresh) {
    {
      std::shared_lock lock(s.mu);
      if (!kms || s.opening.contains(k.id)) {
        opened.emplace_back(std::move(k), nullptr);
        continue;
      }
    }
    auto plain = kms->unwrap(k.kek, k.id, k.wrapped);
    if (plain) {
      auto dk = std::make_shared<data_key>();
      dk->id = k.id;
      dk->bytes = *plain;
      OPENSSL_cleanse(plain->data(), plain->size());
      opened.emplace_back(std::move(k), std::move(dk));
    } else {
      // A KMS that cannot answer now is worth another try; one that answers "no" is final.
      failed.emplace_back(std::move(k), kms->health() ? key_state::missing : key_state::unavailable);
    }
  }
  std::unique_lock lock(s.mu);
  bool lost = false;
  for (auto& [k, dk] : opened) {
    if (dk) s.opening[k.id] = std::move(dk);
    s.unusable.erase(k.id);
    s.records[k.id] = std::move(k);
  }
  for (auto& [k, why] : failed) {
    if (!s.unusable.contains(k.id))
      s.report("unwrap_failed", k.id, false, "topic " + k.topic + ", KEK " + k.kek + " (" + k.kms + "): " + name_of(why));
    s.unusable[k.id] = why;
    if (why == key_state::unavailable) s.retry_unwrap.push_back(k);
    s.records[k.id] = std::move(k);
  }
  make_room_for_unknown(s, bad.size());
  for (const auto& id : bad) s.unusable[id] = key_state::missing;
  for (const auto& id : gone) {
    if (s.records.contains(id)) s.report("erased", id, true, "tombstone in the key store (crypto-shredding)");
    lost = true;
    s.opening.erase(id);
    s.records.erase(id);
    s.unusable[id] = key_state::erased;
    std::erase_if(s.retry_unwrap, [&](const stored_key& k) { return k.id == id; });
    std::erase_if(s.sealing, [&](const auto& e) { return e.second->key->id == id; });
  }
  for (const auto& [topic, before] : rotations) {
    const auto retired = std::erase_if(s.sealing, [&](const auto& e) {
      return (topic == "*" || e.first.topic == topic) && e.second->created_ms < before;
    });
    if (retired > 0)
      s.report("rotated", {}, true,
               std::to_string(retired) + " sealing key(s) of " + (topic == "*" ? std::string("every topic") : "topic " + topic) +
                   " retired by a rotation request");
  }
  if (lost) s.epoch.fetch_add(1, std::memory_order_release);
  if (!read) return read;
  return {};
}

// Makes, wraps and stores one new sealing key per scope, then installs them (the manager's
// thread only). Scopes that already have a usable key are left alone unless `replace`.
std::expected<void, std::string> make_keys(key_manager::state& s, const kms& kms, std::vector<key_scope> scopes,
                                           bool replace) {
  std::vector<stored_key> made;
  std::vector<std::shared_ptr<data_key>> keys;
  {
    std::shared_lock lock(s.mu);
    std::erase_if(scopes, [&](const key_scope& sc) {
      auto it = s.sealing.find(sc);
      return !replace && it != s.sealing.end() && s.usable(*it->second, 1);
    });
  }
  for (const auto& sc : scopes) {
    auto id = new_key_id();
    auto dk = std::make_shared<data_key>();
    if (!id || RAND_bytes(dk->bytes.data(), static_cast<int>(dk->bytes.size())) != 1)
      return std::unexpected(std::string("no randomness for a new data key"));
    dk->id = *id;
    auto wrapped = kms.wrap(sc.kek, dk->id, dk->bytes);
    if (!wrapped) return std::unexpected(wrapped.error());
    stored_key k;
    k.id = dk->id;
    k.kms = kms.kind();
    k.kek = sc.kek;
    k.topic = sc.topic;
    if (!sc.subject.empty()) k.subject = subject_tag(sc.topic, sc.subject);
    k.created_ms = now_ms();
    k.wrapped = std::move(*wrapped);
    made.push_back(std::move(k));
    keys.push_back(std::move(dk));
  }
  if (made.empty()) return {};
  // Used only once the store has it: every instance can then open what it seals.
  std::vector<store_record> records;
  for (const auto& k : made) records.push_back({k.id, encode_stored_key(k)});
  if (auto put = s.store->write(records); !put) return std::unexpected(s.store->describe() + ": " + put.error());
  for (const auto& k : made) s.report("made", k.id, true, "topic " + k.topic + ", KEK " + k.kek + " (" + k.kms + ")");
  std::unique_lock lock(s.mu);
  for (std::size_t i = 0; i < made.size(); ++i) {
    auto e = std::make_shared<sealing_entry>();
    e->key = keys[i];
    e->made = clock::now();
    e->created_ms = made[i].created_ms;
    s.sealing[scopes[i]] = std::move(e);
    s.opening[made[i].id] = keys[i];
    s.records[made[i].id] = std::move(made[i]);
  }
  return {};
}

void run(key_manager::state& s, const kms* kms) {
  auto next_follow = clock::now() + s.limits.follow_interval;
  for (;;) {
    std::vector<std::pair<std::vector<key_scope>, key_manager::state::done_fn>> prepares;
    std::set<key_scope> successors;
    bool catch_up = false;
    std::set<std::string, std::less<>> asked;
    {
      std::unique_lock lock(s.task_mu);
      s.wake.wait_until(lock, next_follow, [&] {
        return s.stopping || !s.prepares.empty() || !s.successors.empty() || !s.asked.empty();
      });
      if (s.stopping) return;
      prepares.swap(s.prepares);
      successors.swap(s.successors);
      asked.swap(s.asked);
    }
    for (auto& [scopes, done] : prepares) {
      auto made = kms ? make_keys(s, *kms, std::move(scopes), false)
                      : std::expected<void, std::string>(std::unexpected(std::string("no KMS")));
      if (!made) s.report("make_failed", {}, false, made.error());
      {
        std::lock_guard lock(s.task_mu);
        s.last_error = made ? std::string() : made.error();
      }
      done(std::move(made));
    }
    if (kms && !successors.empty())
      if (auto made = make_keys(s, *kms, {successors.begin(), successors.end()}, true); !made)
        s.report("make_failed", {}, false, made.error());
    catch_up = !asked.empty();
    if (catch_up || clock::now() >= next_follow) {
      const auto read = follow(s, kms);
      next_follow = clock::now() + s.limits.follow_interval;
      // Read to the end without them: ids nobody wrote (or whose record did not decode).
      if (read && catch_up) {
        std::unique_lock lock(s.mu);
        make_room_for_unknown(s, asked.size());
        for (const auto& id : asked)
          if (!s.opening.contains(id) && !s.unusable.contains(id)) s.unusable[id] = key_state::missing;
      } else if (!read && catch_up) {
        std::lock_guard lock(s.task_mu);  // the store did not answer: ask again next time
        s.asked.insert(asked.begin(), asked.end());
      }
    }
  }
}

}  // namespace

void key_manager::set_decision_stream(const decision_stream* stream) { s_->decisions = stream; }

std::expected<void, std::string> key_manager::start() {
  if (s_->thread.joinable()) return {};
  if (kms_)
    if (auto ok = kms_->health(); !ok) return std::unexpected("KMS (" + std::string(kms_->kind()) + "): " + ok.error());
  if (auto read = follow(*s_, kms_.get()); !read) return std::unexpected(s_->store->describe() + ": " + read.error());
  s_->thread = std::thread([s = s_, k = kms_] {
    run(*s, k.get());
    std::lock_guard lock(s->task_mu);
    s->exited = true;
    s->done.notify_all();
  });
  return {};
}

std::shared_ptr<const data_key> key_manager::sealing_key(const key_scope& scope, std::uint64_t uses) {
  std::shared_lock lock(s_->mu);
  auto it = s_->sealing.find(scope);
  if (it == s_->sealing.end()) return nullptr;
  sealing_entry& e = *it->second;
  const auto used = e.uses.fetch_add(uses, std::memory_order_relaxed) + uses;
  const auto age = clock::now() - e.made;
  if (used > s_->limits.max_uses || age >= s_->limits.max_age) return nullptr;
  // Nine tenths used: make its successor now, so sealing never waits for it.
  if ((used >= s_->limits.max_uses / 10 * 9 || age >= s_->limits.max_age / 10 * 9) &&
      !e.successor_asked.exchange(true)) {
    {
      std::lock_guard tasks(s_->task_mu);
      s_->successors.insert(scope);
    }
    s_->wake.notify_one();
  }
  return e.key;
}

opened_key key_manager::opening_key(std::string_view id) {
  // Per-thread cache: a hit touches no shared cache line but the epoch.
  // The batch's records mostly share one data key: the last one found is checked before hashing.
  struct front {
    std::uint64_t serial = 0, epoch = 0;
    id_map<std::shared_ptr<const data_key>> keys;
    std::shared_ptr<const data_key> last;
  };
  thread_local front f;
  const auto epoch = s_->epoch.load(std::memory_order_acquire);
  if (f.serial != s_->serial || f.epoch != epoch) {
    f.keys.clear();
    f.last.reset();
    f.serial = s_->serial;
    f.epoch = epoch;
  }
  if (f.last && f.last->id == id) return {key_state::ready, f.last};
  if (auto it = f.keys.find(id); it != f.keys.end()) {
    f.last = it->second;
    return {key_state::ready, it->second};
  }
  {
    std::shared_lock lock(s_->mu);
    if (auto it = s_->opening.find(id); it != s_->opening.end()) {
      if (f.keys.size() >= 4096) f.keys.clear();
      f.keys.emplace(std::string(id), it->second);
      f.last = it->second;
      return {key_state::ready, it->second};
    }
    if (auto it = s_->unusable.find(id); it != s_->unusable.end()) return {it->second, nullptr};
  }
  // Callers pass ids as tokens name them, unvalidated: one no key can have is not worth asking for.
  if (!valid_key_id(id)) return {key_state::missing, nullptr};
  {
    std::lock_guard tasks(s_->task_mu);
    if (s_->asked.size() < 10000) s_->asked.emplace(id);
  }
  s_->wake.notify_one();
  return {key_state::pending, nullptr};
}

void key_manager::prepare(std::vector<key_scope> scopes, std::function<void(std::expected<void, std::string>)> done) {
  {
    std::lock_guard tasks(s_->task_mu);
    if (!s_->stopping) {
      s_->prepares.emplace_back(std::move(scopes), std::move(done));
      done = nullptr;
    }
  }
  if (done) return done(std::unexpected(std::string("the gateway is stopping")));
  s_->wake.notify_one();
}

std::vector<stored_key> key_manager::list() {
  std::shared_lock lock(s_->mu);
  std::vector<stored_key> out;
  for (const auto& [id, k] : s_->records) out.push_back(k);
  std::sort(out.begin(), out.end(), [](const stored_key& a, const stored_key& b) {
    return std::tie(a.topic, a.created_ms, a.id) < std::tie(b.topic, b.created_ms, b.id);
  });
  return out;
}

std::expected<std::size_t, std::string> key_manager::shred(std::string_view topic, std::string_view subject) {
  const std::string tag = subject_tag(topic, subject);
  std::vector<std::string> ids;
  {
    std::shared_lock lock(s_->mu);
    for (const auto& [id, k] : s_->records)
      if (k.topic == topic && k.subject == tag) ids.push_back(id);
  }
  if (ids.empty()) return 0;
  std::vector<store_record> tombstones;
  for (const auto& id : ids) tombstones.push_back({id, std::nullopt});
  if (auto erased = s_->store->write(tombstones); !erased)
    return std::unexpected(s_->store->describe() + ": " + erased.error());
  std::unique_lock lock(s_->mu);
  for (const auto& id : ids) {
    s_->opening.erase(id);
    s_->records.erase(id);
    s_->unusable[id] = key_state::erased;
    std::erase_if(s_->sealing, [&](const auto& e) { return e.second->key->id == id; });
  }
  s_->epoch.fetch_add(1, std::memory_order_release);
  return ids.size();
}

std::size_t key_manager::rotate(std::string_view topic) {
  std::unique_lock lock(s_->mu);
  return std::erase_if(s_->sealing, [&](const auto& e) { return topic.empty() || e.first.topic == topic; });
}

std::expected<void, std::string> key_manager::request_rotation(std::string_view topic) {
  const std::string which = topic.empty() ? std::string("*") : std::string(topic);
  const store_record r{"rotate." + which, "kgw1 rotate before=" + std::to_string(now_ms() + 1)};
  if (auto w = s_->store->write(std::span(&r, 1)); !w) return std::unexpected(s_->store->describe() + ": " + w.error());
  rotate(topic);
  return {};
}

std::expected<void, std::string> key_manager::health() const {
  if (!kms_) return std::unexpected(std::string("no KMS"));
  return kms_->health();
}

std::string key_manager::last_error() const {
  std::lock_guard lock(s_->task_mu);
  return s_->last_error;
}

}  // namespace kgw::policies::encryption

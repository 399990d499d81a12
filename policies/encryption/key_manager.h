#pragma once
// The data keys (DEKs) of one gateway instance, shared by every session on every worker:
// envelope encryption over a KMS (kms.h) and a key store (key_store.h, the key topic).
//
// Sealing: each instance makes its own DEKs, one per scope (KEK, topic, and the subject value
// for per-subject keys), wraps each under its KEK and writes it to the store, and uses it only
// once the store acknowledged it, so a record is never written with a key another instance
// cannot find. A DEK is retired after max_uses seals or max_age, whichever first (random 96-bit
// nonces: the use limit keeps the chance of a repeat far below GCM's bound); its successor is
// made in the background before it runs out.
// Opening: every key in the store is unwrapped when first seen (start-up, then following the
// store), so the relay only looks keys up. An id not known yet (another instance's new key)
// makes the manager read the store again: until then it is `pending`; once read to the end
// without it, `missing`. A tombstone (crypto-shredding) makes it `erased` everywhere.
// Transient states (pending, unavailable: the KMS cannot unwrap now) are worth a retry;
// erased and missing are final. Callers fail closed on anything but ready.
//
// Threading: relay threads call sealing_key, opening_key and prepare, which never block (a
// shared lock on the key maps, and a per-thread cache of opened keys in front of it). KMS and
// store calls happen on the manager's own thread. Operator calls (list, shred, rotate) block.
#include <chrono>
#include <compare>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policies/encryption/field_cipher.h"
#include "policies/encryption/key_store.h"
#include "policies/encryption/kms.h"

namespace kgw::policies {
class decision_stream;
}

namespace kgw::policies::encryption {

struct key_limits {
  std::uint64_t max_uses = 50'000'000;  // seals per DEK
  std::chrono::milliseconds max_age = std::chrono::hours(24);
  // How often the store is read for other instances' keys and for tombstones.
  std::chrono::milliseconds follow_interval = std::chrono::seconds(1);
  // How long stop() waits for a store or KMS call in progress before leaving the thread behind.
  std::chrono::milliseconds stop_wait = std::chrono::seconds(15);
  // Ids no key has (tokens naming them can be written around the gateway, as many as anyone
  // likes) are remembered as missing up to this many; past it those are forgotten and asked for
  // again when met. Erased and unavailable keys are always remembered.
  std::size_t max_unknown_ids = 100'000;
  bool operator==(const key_limits&) const = default;
};

// What a sealing key is for. subject: the subject's value (per-subject keys), or empty.
struct key_scope {
  std::string kek, topic, subject;
  auto operator<=>(const key_scope&) const = default;
};

enum class key_state { ready, pending, unavailable, erased, missing };
const char* name_of(key_state s);
inline bool transient(key_state s) { return s == key_state::pending || s == key_state::unavailable; }

struct opened_key {
  key_state state = key_state::missing;
  std::shared_ptr<const data_key> key;  // ready only
};

class key_manager {
 public:
  // kms null: a catalogue for operator tools (list, shred, rotate): keys are read, never opened
  // or made.
  key_manager(std::shared_ptr<const kms> kms, std::unique_ptr<key_store> store, key_limits limits = {});
  ~key_manager();  // stops following
  key_manager(const key_manager&) = delete;
  key_manager& operator=(const key_manager&) = delete;

  // Reads the store to its end, unwrapping every key, then follows it on the manager's thread.
  // Key operations become decisions (decision_kind::key: made, make_failed, unwrap_failed,
  // erased, rotated) on `stream` (null: none). Before start().
  void set_decision_stream(const decision_stream* stream);

  // Fails (why) when the KMS or the store cannot be reached.
  std::expected<void, std::string> start();
  // Stops following and closes the store (keys already open stay usable; nothing new is made).
  // The destructor does it too; the gateway calls it before its embedded broker stops. Bounded:
  // a store call that never returns (librdkafka's ListOffsets once the whole cluster is gone
  // can wait for ever) does not hold up shutdown; the thread is then left behind, detached.
  void stop();

  // Relay threads. A key to seal `uses` values for `scope` (counted), or null: none is ready;
  // prepare() it and ask again.
  std::shared_ptr<const data_key> sealing_key(const key_scope& scope, std::uint64_t uses = 1);
  // The key `id` names (as a token names it; an id no key can have is missing).
  opened_key opening_key(std::string_view id);
  // Makes keys for the scopes without a ready one; `done` runs on the manager's thread once all
  // are ready, or with why not.
  void prepare(std::vector<key_scope> scopes, std::function<void(std::expected<void, std::string>)> done);

  // Operators (block).
  std::vector<stored_key> list();
  // Tombstones every key of `subject` on `topic`; how many.
  std::expected<std::size_t, std::string> shred(std::string_view topic, std::string_view subject);
  // Retires this instance's sealing keys of `topic` (all topics when empty): the next seal makes
  // a new key. How many were retired.
  std::size_t rotate(std::string_view topic);
  // Asks every instance to do so: a rotation request in the store, which each follows.
  std::expected<void, std::string> request_rotation(std::string_view topic);
  std::expected<void, std::string> health() const;
  const kms* key_service() const { return kms_.get(); }
  // Why the last key could not be made ("" when it could): for the client's error message.
  std::string last_error() const;

  struct state;

 private:
  std::shared_ptr<const kms> kms_;
  // Shared with the manager's thread, which keeps it (and the KMS) alive if stop() has to leave
  // it behind.
  std::shared_ptr<state> s_;
};

}  // namespace kgw::policies::encryption

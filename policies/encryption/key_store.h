#pragma once
// Where wrapped data keys live: the key topic, a compacted topic on the upstream cluster that
// every gateway instance reads at start-up and follows (gateway/key_topic.h), so any instance
// opens what another sealed and a restarted one loses nothing. Only wrapped keys are written
// there; destroying a key (crypto-shredding) is a tombstone.
//
// Record: key = the DEK id; value = one line of text, so an operator can read it with kcat:
//   kgw1 kms=<kind> kek=<KEK id> topic=<topic> subject=<tag or -> created=<ms> wrapped=<base64>
// A rotation request (`kafka-gateway keys rotate`) is a record too, one per topic (compaction
// keeps the latest): key "rotate.<topic>" (or "rotate.*"), value "kgw1 rotate before=<ms>":
// every instance retires its sealing keys of that topic made before then.
// subject: for a per-subject key, the first 32 hex digits of SHA-256("kgw1 subject", topic,
// value), so `keys shred --subject 17` finds the keys of subject 17 without the topic holding
// the value; "-" for a key of the whole topic.
// Threading: implementations are called from the key manager's thread only; they may block.
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kgw::policies::encryption {

struct stored_key {
  std::string id;       // the DEK id (the record's key)
  std::string kms;      // the KMS kind that wrapped it ("local", "pkcs11")
  std::string kek;      // the KEK id it is wrapped under
  std::string topic;    // the topic whose fields it seals
  std::string subject;  // subject tag (32 hex digits), or empty for a whole-topic key
  std::int64_t created_ms = 0;
  std::string wrapped;  // the KMS's wrapped form (bytes)
  bool operator==(const stored_key&) const = default;
};

std::string encode_stored_key(const stored_key& k);  // the value line
std::expected<stored_key, std::string> decode_stored_key(std::string_view id, std::string_view value);
// The subject tag of `value` on `topic`.
std::string subject_tag(std::string_view topic, std::string_view value);

// One record of the store: a key's id and its value line, or a tombstone (nullopt).
struct store_record {
  std::string id;
  std::optional<std::string> value;
};

class key_store {
 public:
  virtual ~key_store() = default;
  virtual std::string describe() const = 0;  // for messages: "key topic _kgw_keys"
  // Writes records durably: returns once the store acknowledged every one, or why not.
  virtual std::expected<void, std::string> write(std::span<const store_record> records) = 0;
  // Calls `seen` for every record written since the last call (the first call: since the
  // beginning), up to the end of the store as it is now; value nullopt: a tombstone.
  virtual std::expected<void, std::string> read_new(
      const std::function<void(std::string_view id, std::optional<std::string_view> value)>& seen) = 0;
};

}  // namespace kgw::policies::encryption

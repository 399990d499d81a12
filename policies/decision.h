#pragma once
// The one decision stream. Every decision the gateway takes is an event here: a connection
// authenticated or refused, an entry of a request denied with the Kafka error its client gets,
// what a view or a validation did to one partition's records (the verdict counts), and each
// configuration reload, accepted or rejected, each key operation, and the data a principal was
// allowed to produce or fetch per topic (traffic: emitted only when a subscriber asked for it,
// as it costs a walk of each Produce request and Fetch response). The minute summary
// subscribes to it, so do tests; audit and metrics subscribe the same way. Deciding code emits
// events and keeps no counters.
//
// Threading: subscribe() before the gateway starts (the list is then read without a lock);
// emit() runs every subscriber synchronously on the thread that decided, usually a relay
// worker, so a subscriber must be thread-safe and must not block (queue, count, return).
// An event's string_views are valid only during the call.
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kgw::policies {

// The counts a records event carries, in one list: the tally enum, its names, and every
// summary of them come from it.
#define KGW_DECISION_TALLIES(X)                                                  \
  X(records_delivered)        /* records delivered (changed or not) */           \
  X(records_filtered)         /* removed by a row filter */                      \
  X(records_masked)           /* delivered with at least one field changed */    \
  X(records_invalid_dropped)  /* not JSON on a governed topic: dropped */        \
  X(records_invalid_replaced) /* not JSON: replaced as configured */             \
  X(legacy_batches_dropped)   /* v0/v1 message sets on governed topics */        \
  X(corrupt_batches)          /* could not be decoded: the partition failed */   \
  X(batches_rewritten)        /* re-encoded because a record changed */          \
  X(produce_rejected)         /* produce partitions answered INVALID_RECORD */   \
  X(fields_encrypted)         /* fields (or whole values) sealed on produce */   \
  X(fields_decrypted)         /* fields (or whole values) opened on fetch */     \
  X(fields_undecryptable)     /* could not be opened: masked or record dropped */\
  X(records_undecryptable_dropped) /* dropped: a field did not decrypt */    \
  X(batches_shared)           /* governed once for all alike: from the cache */

enum class tally : std::uint8_t {
#define KGW_TALLY_ENUM(name) name,
  KGW_DECISION_TALLIES(KGW_TALLY_ENUM)
#undef KGW_TALLY_ENUM
};
inline constexpr std::size_t tally_count = 0
#define KGW_TALLY_COUNT(name) +1
    KGW_DECISION_TALLIES(KGW_TALLY_COUNT)
#undef KGW_TALLY_COUNT
    ;
inline constexpr std::array<const char*, tally_count> tally_names = {
#define KGW_TALLY_NAME(name) #name,
    KGW_DECISION_TALLIES(KGW_TALLY_NAME)
#undef KGW_TALLY_NAME
};

using tally_counts = std::array<std::uint64_t, tally_count>;
inline void add(tally_counts& to, tally t, std::uint64_t n = 1) { to[static_cast<std::size_t>(t)] += n; }

enum class decision_kind : std::uint8_t {
  authenticated,          // principal, mechanism
  authentication_failed,  // detail: why (never a secret)
  denied,                 // resource_type/resource, error: what the client gets
  records,                // resource: topic, partition, counts
  reload,                 // generation, accepted, detail
  traffic,                // api_key, resource: topic, bytes and records produced or fetched
  key,                    // operation, resource: key id, detail; accepted false: it failed
};

struct decision {
  decision_kind kind = decision_kind::denied;
  std::uint64_t generation = 0;  // the configuration generation that decided
  // Who: listener name, client address, principal (without "User:"), how it authenticated, and
  // the client id its requests carry (empty before the first request).
  std::string_view listener, client, principal, mechanism, client_id;
  std::int16_t api_key = -1, api_version = -1;  // the request, when there is one
  std::string_view resource_type;                // "topic", "group", "transactional_id", "cluster"
  std::string_view resource;                     // its name
  std::int32_t partition = -1;                   // records: the partition
  std::int16_t error = 0;                        // the Kafka error code the client gets
  bool accepted = true;                          // reload
  std::string_view detail;                       // why, in words
  std::string_view reason;                       // authentication_failed: what failed, from a
                                                 // fixed set ("SASL authentication failed", ...)
  std::string_view rule;                         // the configuration rule that decided (file:line:col)
  std::string_view operation;                    // denied: the ACL operation; key: what was done
  std::uint64_t bytes = 0, records = 0;          // traffic
  tally_counts counts{};                         // records
};

class decision_stream;

// Whom a connection's decisions are about, and where they go. The views point into the session,
// which outlives every use.
struct decision_origin {
  const decision_stream* stream = nullptr;  // null: nobody listens
  std::uint64_t generation = 0;
  std::string_view listener, client, principal, mechanism;
  const std::string* client_id = nullptr;  // the session's, learnt from its requests (may change)

  decision event(decision_kind kind) const {
    decision d;
    d.kind = kind;
    d.generation = generation;
    d.listener = listener;
    d.client = client;
    d.principal = principal;
    d.mechanism = mechanism;
    if (client_id) d.client_id = *client_id;
    return d;
  }
  inline void emit(const decision& d) const;
  // Data allowed through for one topic of one request or response (decision_kind::traffic).
  inline void traffic(std::int16_t api_key, std::int16_t api_version, std::string_view topic, std::uint64_t bytes,
                      std::uint64_t records) const;
};

class decision_stream {
 public:
  using subscriber = std::function<void(const decision&)>;

  // traffic: the subscriber wants traffic events (without one, none are made).
  void subscribe(subscriber s, bool traffic = false) {
    subscribers_.push_back(std::move(s));
    traffic_ = traffic_ || traffic;
  }
  bool active() const { return !subscribers_.empty(); }
  bool wants_traffic() const { return traffic_; }
  void emit(const decision& d) const {
    for (const auto& s : subscribers_) s(d);
  }

 private:
  std::vector<subscriber> subscribers_;
  bool traffic_ = false;
};

inline void decision_origin::emit(const decision& d) const {
  if (stream) stream->emit(d);
}

inline void decision_origin::traffic(std::int16_t api_key, std::int16_t api_version, std::string_view topic,
                                     std::uint64_t bytes, std::uint64_t records) const {
  if (!stream || !stream->wants_traffic()) return;
  auto d = event(decision_kind::traffic);
  d.api_key = api_key;
  d.api_version = api_version;
  d.resource_type = "topic";
  d.resource = topic;
  d.bytes = bytes;
  d.records = records;
  stream->emit(d);
}

}  // namespace kgw::policies

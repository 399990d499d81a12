#pragma once
// Applies a principal's record stages (policies/record.h: views, later decryption) to the records
// of Fetch responses, and its produce validation to the records of Produce requests. The glue
// between protocol/record_batch (bytes) and the policies (decisions); one decode per batch for
// every stage:
//   - a batch whose records all stay as they are is copied as received (no re-encode);
//   - otherwise it is re-encoded with the records kept, in the codec it came with, keeping the
//     batch's base offset and last offset delta: removed records leave gaps in the offsets and a
//     batch whose records are all removed is sent empty (uncompressed, marked as a control
//     batch, which clients skip), so consumers move past them and committed offsets stay valid;
//   - control batches (transaction markers) are never altered;
//   - legacy v0/v1 message sets cannot be governed: dropped for this principal, and counted; a
//     run of them is replaced by an empty batch ending at their last offset (as for emptied
//     batches below), and on Fetch v0-3, which cannot carry v2 batches, the partition fails;
//   - a batch that does not decode (bad CRC, corrupt compression) fails the partition
//     (CORRUPT_MESSAGE): fail closed, never forwarded ungoverned.
// What it did is counted into the caller's tally (policies/decision.h), which the caller emits
// on the decision stream.
// Threading: a governor belongs to one session (its scratch buffers are reused across batches).
#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "policies/decision.h"
#include "protocol/wire.h"

namespace kgw::protocol {
struct records_entry;
}

namespace kgw::policies {
class record_stage;
class record_validator;
class transform_cache;

class record_governor {
 public:
  record_governor();
  ~record_governor();
  record_governor(const record_governor&) = delete;
  record_governor& operator=(const record_governor&) = delete;

  enum class outcome { unchanged, rewritten };
  // Why a records field cannot be governed, with the Kafka error its partition fails with:
  // CORRUPT_MESSAGE (a batch that does not decode or re-encode) or UNSUPPORTED_VERSION (legacy
  // message sets, which a Fetch v0-3 response cannot carry as the v2 batches a view writes).
  struct failure {
    std::int16_t error;
    std::string why;
  };
  // Where governed batches are shared with other sessions (policies/transform_cache.h), and the
  // partition the records field is of.
  struct sharing {
    transform_cache* cache = nullptr;
    std::int32_t partition = 0;
  };
  // Governs one partition's records field. rewritten: `out` holds the new records field. A
  // failure: the caller fails the partition. v2_allowed: the response may carry v2 batches
  // (Fetch v4+). counts: what happened, added to.
  // stages: run in order on each record (a record one stage drops goes no further).
  // shared: batches whose stages all have an output identity come from, and go to, its cache.
  std::expected<outcome, failure> govern(protocol::bytes_view records, std::span<const record_stage* const> stages,
                                         std::vector<std::byte>& out, tally_counts& counts, bool v2_allowed = true,
                                         const sharing* shared = nullptr);
  std::expected<outcome, failure> govern(protocol::bytes_view records, const record_stage& stage,
                                         std::vector<std::byte>& out, tally_counts& counts, bool v2_allowed = true) {
    const record_stage* one = &stage;
    return govern(records, std::span(&one, 1), out, counts, v2_allowed);
  }

  // Produce: runs `stages` over every record of one partition's records and re-encodes the
  // batches they changed, in the codec they came in, keeping producer id, epoch, sequence and
  // the transactional flag. Every record must be kept: one that a stage refuses (verdict
  // drop/drop_invalid) refuses the partition with INVALID_RECORD and why (counts:
  // produce_rejected); `retry` fails it with KAFKA_STORAGE_ERROR (retriable) and why.
  std::expected<outcome, failure> rewrite_produce(protocol::bytes_view records,
                                                  std::span<const record_stage* const> stages,
                                                  std::vector<std::byte>& out, tally_counts& counts);

  // Produce validation of one partition's records: every record passes, or why the first that
  // does not fails (counts: produce_rejected).
  std::expected<void, std::string> validate(protocol::bytes_view records, const record_validator& validator,
                                            tally_counts& counts);

 private:
  // One decoded v2 data batch (in scratch): its records through the stages, appended to `out`
  // as received (false) or re-encoded (true).
  std::expected<bool, failure> govern_batch(const protocol::records_entry& e,
                                            std::span<const record_stage* const> stages, std::vector<std::byte>& out,
                                            tally_counts& counts);
  struct scratch;
  std::unique_ptr<scratch> s_;
};

}  // namespace kgw::policies

#pragma once
// An in-memory key store for tests: one log of (id, value or tombstone) shared by every store
// made from it, as the key topic is shared by every gateway instance; each store reads it from
// its own position. `down` makes every call fail (a cluster out of reach).
// Threading: the shared log is locked; each store is used by one key manager.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policies/encryption/key_store.h"

namespace kgw::testing {

struct shared_key_log {
  std::mutex mu;
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
  bool down = false;
  void append(std::string id, std::optional<std::string> value) {
    std::lock_guard lock(mu);
    records.emplace_back(std::move(id), std::move(value));
  }
};

class memory_key_store final : public policies::encryption::key_store {
 public:
  explicit memory_key_store(std::shared_ptr<shared_key_log> log) : log_(std::move(log)) {}
  std::string describe() const override { return "test key store"; }
  std::expected<void, std::string> write(std::span<const policies::encryption::store_record> records) override {
    std::lock_guard lock(log_->mu);
    if (log_->down) return std::unexpected(std::string("store down"));
    for (const auto& r : records) log_->records.emplace_back(r.id, r.value);
    return {};
  }
  std::expected<void, std::string> read_new(
      const std::function<void(std::string_view, std::optional<std::string_view>)>& seen) override {
    std::vector<std::pair<std::string, std::optional<std::string>>> fresh;
    {
      std::lock_guard lock(log_->mu);
      if (log_->down) return std::unexpected(std::string("store down"));
      fresh.assign(log_->records.begin() + static_cast<std::ptrdiff_t>(at_), log_->records.end());
      at_ = log_->records.size();
    }
    for (const auto& [id, v] : fresh) seen(id, v ? std::optional<std::string_view>(*v) : std::nullopt);
    return {};
  }

 private:
  std::shared_ptr<shared_key_log> log_;
  std::size_t at_ = 0;
};

}  // namespace kgw::testing

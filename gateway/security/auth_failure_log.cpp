#include "gateway/security/auth_failure_log.h"

#include <algorithm>

#include "gateway/logging.h"

namespace kgw::security {
namespace {

// Control characters (newlines above all) become \xNN so peer-supplied text cannot forge
// extra log lines or terminal escapes. Bytes >= 0x80 pass: UTF-8 names stay readable.
std::string log_safe(std::string_view text, std::size_t max_bytes) {
  bool cut = false;
  if (text.size() > max_bytes) {
    std::size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // keep UTF-8 whole
    text = text.substr(0, end);
    cut = true;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + (cut ? 3 : 0));
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0x0F];
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
  return out;
}

// Addresses and failure kinds come from the gateway, not the peer, but are bounded all the same.
constexpr std::size_t max_label_bytes = 128;

}  // namespace

auth_failure_log::auth_failure_log(int burst, std::chrono::seconds window, std::size_t max_addresses,
                                   spdlog::logger* out, const char* preposition)
    : burst_(std::max(burst, 1)),
      window_(window),
      out_(out ? out : &log::auth()),
      preposition_(preposition),
      max_addresses_(std::max<std::size_t>(max_addresses, 1)) {
  by_ip_.reserve(std::min<std::size_t>(max_addresses_, 1024));
}

std::string_view auth_failure_log::source_ip(std::string_view address) {
  if (address.starts_with('[')) {
    const auto close = address.find(']');
    return close == std::string_view::npos ? address.substr(1) : address.substr(1, close - 1);
  }
  // One colon is IPv4:port; two or more is bare IPv6, which has no port without brackets.
  const auto colon = address.find(':');
  if (colon != std::string_view::npos && address.find(':', colon + 1) == std::string_view::npos) {
    return address.substr(0, colon);
  }
  return address;
}

bool auth_failure_log::failure(std::string_view address, std::string_view what, std::string_view reason) {
  return failure(address, what, reason, clock::now());
}

bool auth_failure_log::failure(std::string_view address, std::string_view what, std::string_view reason,
                               clock::time_point now) {
  const auto ip = source_ip(address);
  source* entry = nullptr;
  if (const auto found = by_ip_.find(ip); found != by_ip_.end()) {
    recent_.splice(recent_.begin(), recent_, found->second);  // splice keeps iterators valid
    entry = &*found->second;
  } else {
    if (by_ip_.size() >= max_addresses_) {
      by_ip_.erase(recent_.back().ip);
      recent_.pop_back();
    }
    recent_.push_front(source{.ip = std::string(ip), .window_start = now});
    by_ip_.emplace(recent_.front().ip, recent_.begin());
    entry = &recent_.front();
  }

  if (now - entry->window_start >= window_) {
    entry->window_start = now;
    entry->logged = 0;
  }
  if (entry->logged >= burst_) {
    ++entry->suppressed;
    ++suppressed_total_;
    return false;
  }
  ++entry->logged;
  const auto safe_what = log_safe(what, max_label_bytes);
  const auto safe_address = log_safe(address, max_label_bytes);
  const auto safe_reason = log_safe(reason, max_reason_bytes);
  if (entry->suppressed == 0) {
    out_->warn("{} {} {}: {}", safe_what, preposition_, safe_address, safe_reason);
  } else {
    out_->warn("{} {} {}: {} ({} similar messages suppressed)", safe_what, preposition_, safe_address, safe_reason,
               entry->suppressed);
    entry->suppressed = 0;
  }
  return true;
}

std::uint64_t auth_failure_log::suppressed_total() const { return suppressed_total_; }

std::size_t auth_failure_log::tracked_addresses() const { return by_ip_.size(); }

}  // namespace kgw::security

#pragma once
// The reference for the shared-customers scenario (config/examples/shared-customers.yaml): what
// each reading team must receive for every stored customer, computed here from the scenario's
// rules alone, never with the gateway's policy code, so a bug there cannot hide in both.
//
//   marketing  customers with consent.marketing == true (the JSON value true); email becomes
//              "***@" + its domain, "phone" is gone, every other field is unchanged
//   analytics  every customer; name, email and phone become HMAC-SHA-256(hash key, the
//              unescaped string) as 64 lowercase hex digits (OpenSSL), the rest is unchanged
//   sales      customers whose region is exactly the territory, byte for byte as stored
//   fraud      every customer, byte for byte as stored
//
// Masked values are compared as parsed JSON (a gateway may re-encode the record); unmasked ones
// must be the stored bytes (a view without masks has no reason to touch them).
// Threading: build on one thread; the const members may then be called from any thread.
#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kgw::e2e::shared_customers {

enum class reader { marketing, analytics, sales, fraud };
inline constexpr reader all_readers[] = {reader::marketing, reader::analytics, reader::sales, reader::fraud};
const char* name_of(reader who);  // the principal name: "marketing", ...

// HMAC-SHA-256(key, message) as 64 lowercase hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
// The part after the last '@' ("" when there is none).
std::string_view email_domain(std::string_view email);

class oracle {
 public:
  oracle(std::string hash_key, std::string territory);
  ~oracle();
  oracle(const oracle&) = delete;
  oracle& operator=(const oracle&) = delete;

  // Records one stored customer (record key, JSON value as produced). Error text when the value
  // is not a JSON object with string name, email and phone, or the key is already known.
  std::optional<std::string> add(const std::string& key, const std::string& value);

  std::size_t size() const;  // customers added
  bool known(const std::string& key) const;
  // Whether `who` must receive the record with this key.
  bool visible(reader who, const std::string& key) const;
  // The keys `who` must receive, and how many.
  std::set<std::string> expected_keys(reader who) const;
  std::size_t expected_count(reader who) const;

  // nullopt when `delivered` is exactly what `who` must see for the stored record with this key;
  // otherwise what is wrong (unknown key, must not be delivered, not JSON, which field differs).
  std::optional<std::string> check(reader who, const std::string& key, std::string_view delivered) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kgw::e2e::shared_customers

#include "tests/e2e/shared_customers_oracle.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

// Boost.JSON's implementation is compiled once for the project (gateway/security/json.cpp);
// only its headers here.
#include <boost/json.hpp>

#include <map>

namespace kgw::e2e::shared_customers {
namespace json = boost::json;

namespace {

struct stored {
  std::string bytes;
  json::object value;
};

std::string clip(std::string_view s, std::size_t n = 300) {
  return s.size() > n ? std::string(s.substr(0, n)) + "..." : std::string(s);
}

std::string_view as_view(const json::string& s) { return {s.data(), s.size()}; }

}  // namespace

const char* name_of(reader who) {
  switch (who) {
    case reader::marketing: return "marketing";
    case reader::analytics: return "analytics";
    case reader::sales: return "sales";
    case reader::fraud: return "fraud";
  }
  return "?";
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &len);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(digits[mac[i] >> 4]);
    out.push_back(digits[mac[i] & 0x0f]);
  }
  return out;
}

std::string_view email_domain(std::string_view email) {
  const auto at = email.rfind('@');
  return at == std::string_view::npos ? std::string_view() : email.substr(at + 1);
}

struct oracle::impl {
  std::string hash_key, territory;
  std::map<std::string, stored, std::less<>> customers;

  const stored* find(const std::string& key) const {
    auto it = customers.find(key);
    return it == customers.end() ? nullptr : &it->second;
  }

  bool visible(reader who, const stored& s) const {
    switch (who) {
      case reader::marketing: {
        // Exactly the JSON value true: a string "true" or a missing field is no consent.
        const auto* consent = s.value.if_contains("consent");
        const auto* obj = consent ? consent->if_object() : nullptr;
        const auto* marketing = obj ? obj->if_contains("marketing") : nullptr;
        return marketing && marketing->is_bool() && marketing->get_bool();
      }
      case reader::sales: {
        const auto* region = s.value.if_contains("region");
        return region && region->is_string() && as_view(region->get_string()) == territory;
      }
      case reader::analytics:
      case reader::fraud: return true;
    }
    return false;
  }

  // What a masked view must deliver, as a JSON object.
  json::object masked(reader who, const stored& s) const {
    json::object out = s.value;
    if (who == reader::marketing) {
      out["email"] = "***@" + std::string(email_domain(as_view(s.value.at("email").get_string())));
      out.erase("phone");
    } else if (who == reader::analytics) {
      for (const char* field : {"name", "email", "phone"})
        out[field] = hmac_sha256_hex(hash_key, as_view(s.value.at(field).get_string()));
    }
    return out;
  }
};

oracle::oracle(std::string hash_key, std::string territory) : impl_(std::make_unique<impl>()) {
  impl_->hash_key = std::move(hash_key);
  impl_->territory = std::move(territory);
}

oracle::~oracle() = default;

std::optional<std::string> oracle::add(const std::string& key, const std::string& value) {
  if (impl_->customers.contains(key)) return "key " + key + " is already known";
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  if (ec) return "customer " + key + " is not JSON (" + ec.message() + "): " + clip(value);
  if (!v.is_object()) return "customer " + key + " is not a JSON object: " + clip(value);
  for (const char* field : {"name", "email", "phone", "region"}) {
    const auto* f = v.get_object().if_contains(field);
    if (!f || !f->is_string()) return "customer " + key + " has no string field '" + field + "': " + clip(value);
  }
  impl_->customers.emplace(key, stored{value, std::move(v.get_object())});
  return std::nullopt;
}

std::size_t oracle::size() const { return impl_->customers.size(); }

bool oracle::known(const std::string& key) const { return impl_->find(key) != nullptr; }

bool oracle::visible(reader who, const std::string& key) const {
  const auto* s = impl_->find(key);
  return s && impl_->visible(who, *s);
}

std::set<std::string> oracle::expected_keys(reader who) const {
  std::set<std::string> out;
  for (const auto& [key, s] : impl_->customers)
    if (impl_->visible(who, s)) out.insert(key);
  return out;
}

std::size_t oracle::expected_count(reader who) const {
  std::size_t n = 0;
  for (const auto& [key, s] : impl_->customers) n += impl_->visible(who, s);
  return n;
}

std::optional<std::string> oracle::check(reader who, const std::string& key, std::string_view delivered) const {
  const std::string who_name = name_of(who);
  const auto* s = impl_->find(key);
  if (!s) return who_name + " received key '" + clip(key, 40) + "', which no customer has";
  if (!impl_->visible(who, *s)) return who_name + " received customer " + key + ", which its view excludes: " + clip(s->bytes);
  if (who == reader::sales || who == reader::fraud) {
    if (delivered == s->bytes) return std::nullopt;
    return who_name + " received customer " + key + " altered:\n  stored:    " + clip(s->bytes) +
           "\n  delivered: " + clip(delivered);
  }
  boost::system::error_code ec;
  json::value got = json::parse(delivered, ec);
  if (ec) return who_name + " received customer " + key + " as invalid JSON (" + ec.message() + "): " + clip(delivered);
  if (!got.is_object()) return who_name + " received customer " + key + " as a non-object: " + clip(delivered);
  const json::object want = impl_->masked(who, *s);
  if (got.get_object() == want) return std::nullopt;
  // Name the fields that differ, for a readable failure.
  std::string diff;
  for (const auto& [k, v] : want) {
    const auto* g = got.get_object().if_contains(k);
    if (!g)
      diff += " missing '" + std::string(k) + "';";
    else if (*g != v)
      diff += " '" + std::string(k) + "' is " + clip(json::serialize(*g), 80) + ", want " + clip(json::serialize(v), 80) + ";";
  }
  for (const auto& [k, v] : got.get_object())
    if (!want.contains(k)) diff += " unexpected '" + std::string(k) + "';";
  return who_name + " received customer " + key + " wrongly masked:" + diff + "\n  stored:    " + clip(s->bytes) +
         "\n  delivered: " + clip(delivered);
}

}  // namespace kgw::e2e::shared_customers

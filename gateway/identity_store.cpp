#include "gateway/identity_store.h"

#include <stdexcept>

namespace kgw::gateway {

identity_store::identity_store(const std::map<std::string, config::principal_config>& principals) {
  for (const auto& [name, p] : principals) {
    entry e{&p, {}};
    for (const auto& text : p.credentials) {
      auto c = security::parse_stored_form(text);
      if (!c) throw std::runtime_error("principal '" + name + "': " + c.error());
      e.credentials.push_back(std::move(*c));
    }
    entries_.emplace(name, std::move(e));
  }
}

const config::principal_config* identity_store::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.config;
}

const security::scram_credential* identity_store::scram(std::string_view name, security::scram_mechanism m) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return nullptr;
  for (const auto& c : it->second.credentials)
    if (c.mechanism == m) return &c;
  return nullptr;
}

bool identity_store::verify_plain(std::string_view name, std::string_view password) const {
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.credentials.empty()) {
    // Cost the same as a real check, so response times do not tell which users exist.
    (void)security::verify_password(security::decoy_scram_credential(security::scram_mechanism::sha512, name), password);
    return false;
  }
  for (const auto& c : it->second.credentials)
    if (security::verify_password(c, password)) return true;
  return false;
}

}  // namespace kgw::gateway

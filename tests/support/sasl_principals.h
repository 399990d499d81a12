#pragma once
// Principals for tests of the gateway's SASL exchange (gateway/sasl_authenticator.h): alice
// (team sales, territory US-WEST) with SCRAM-SHA-512 and SCRAM-SHA-256 credentials for
// "alice-secret" (PLAIN checks passwords against them too), and nocreds, who has none; `ctx`
// enables the given mechanisms over them. Used by the unit tests and the sasl fuzz target.
// Threading: one per test; ctx points into it, so it must not move.
#include <map>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "gateway/identity_store.h"
#include "gateway/sasl_authenticator.h"
#include "gateway/security/scram.h"

namespace kgw::testing {

struct sasl_principals {
  std::map<std::string, config::principal_config> principals;
  gateway::identity_store ids;
  gateway::sasl_context ctx;
  explicit sasl_principals(std::vector<std::string> mechanisms = {"PLAIN", "SCRAM-SHA-512", "SCRAM-SHA-256"}) {
    namespace sec = kgw::security;
    auto& alice = principals["alice"];
    alice.name = "alice";
    alice.teams = {"sales"};
    alice.attributes["territory"] = "US-WEST";
    alice.credentials = {sec::to_stored_form(sec::make_scram_credential(sec::scram_mechanism::sha512, "alice-secret")),
                         sec::to_stored_form(sec::make_scram_credential(sec::scram_mechanism::sha256, "alice-secret"))};
    principals["nocreds"].name = "nocreds";
    ids = gateway::identity_store(principals);
    ctx.mechanisms = std::move(mechanisms);
    ctx.identities = &ids;
  }
  sasl_principals(const sasl_principals&) = delete;
  sasl_principals& operator=(const sasl_principals&) = delete;
};

}  // namespace kgw::testing

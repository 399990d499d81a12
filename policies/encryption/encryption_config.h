#pragma once
// The encryption policy's part of the policy documents, read from this key
// (policies/encryption/encryption_config.cpp):
//
//   encryption:
//     kms:                                  # where the KEKs are (one per gateway)
//       local: { key_file: secrets/keks }   # "<id> <base64 32 bytes>" lines, mode 600
//       # pkcs11: { module: /usr/lib/softhsm/libsofthsm2.so, token: kgw, pin: {env: KGW_HSM_PIN} }
//     key_topic: _kgw_keys                  # compacted topic of wrapped DEKs ({name: N, create: false})
//     data_keys: { max_uses: 50000000, max_age: 24h }   # when a DEK retires
//     topics:
//       - topics: [customers]               # literal, {prefix: ..}, {glob: ..}
//         kek: customers-kek                # the KEK id in the KMS
//         fields: [email, phone, address.street, "items[*].card"]   # or value: true (whole value)
//         subject: id                       # optional: one DEK per value of this field (shredding)
//         decrypt: { principals: [fraud], teams: [risk] }           # who reads plaintext
//         others: token                     # or a mask: {function: redact|null|remove|hash|partial ..}
//         not_json: refuse                  # or encrypt_value (whole-value encryption instead)
//         on_error: drop                    # an allowed reader's field that does not open:
//                                           #   drop the record, or null | redact | remove the field
//
// Every principal writing to a matched topic has its records encrypted before they reach the
// broker. Which rule applies to a topic: the first that matches, in document order (a topic is
// encrypted one way only, whoever writes it).
// Threading: plain values, read-only after loading.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/policy_config.h"
#include "policies/masking/mask_config.h"

namespace kgw::policies {

struct kms_settings {
  enum class kind { local, pkcs11 };
  kind what = kind::local;
  std::string key_file;  // local: the path, resolved against its document
  std::string module, token, pin;  // pkcs11 (pin is secret: never logged)
  config::source_mark at;
  bool operator==(const kms_settings&) const = default;
};

enum class not_json_action { refuse, encrypt_value };
enum class open_error_action { drop, null, redact, remove };

struct encryption_rule {
  std::vector<config::resource_pattern> topics;
  std::string kek;
  std::vector<std::string> fields;  // selectors; empty when whole_value
  bool whole_value = false;
  std::string subject;              // selector of the subject field; empty: one key per topic
  std::vector<std::string> decrypt_principals, decrypt_teams;
  std::optional<mask_rule> others;  // what the rest receive; none: the token as stored
  not_json_action not_json = not_json_action::refuse;
  open_error_action on_error = open_error_action::drop;
  config::source_mark at;
  bool operator==(const encryption_rule&) const = default;
};

struct encryption_section final : config::section_of<encryption_section> {
  std::optional<kms_settings> kms;
  std::string key_topic = "_kgw_keys";
  bool create_key_topic = true;
  std::uint64_t max_uses = 50'000'000;
  std::chrono::milliseconds max_age = std::chrono::hours(24);
  std::vector<encryption_rule> rules;
  config::source_mark at;  // where the section was given (a second one names both places)

  bool empty() const override { return rules.empty(); }
  std::string summary() const override;
  bool operator==(const encryption_section&) const = default;
  // The rule for a topic: the first that matches; null if none.
  const encryption_rule* rule_for(std::string_view topic) const;
};

extern const config::section_reader encryption_section_reader;

}  // namespace kgw::policies

#pragma once
// A field mask as written in a policy document (views today; what an encrypted field's
// unauthorized readers receive later), and its reader:
//
//   - { field: email, function: partial, keep_domain: true }   # ***@domain.com
//   - { fields: [phone, fax], function: remove }
//   - { field: card, function: partial, keep_last: 4 }
//   - { field: name, function: hash }                     # HMAC-SHA-256(hash_key), hex
//   - { field: ssn, function: redact, replacement: "[hidden]" }
//   - { field: note, function: "null" }
//   - { in: key, field: email, function: hash }           # JSON keys too
//   - { in: header, header: trace, function: redact }     # whole header value
//
// Compiled by policies/masking/field_mask.h.
// Threading: plain values, read-only after loading.
#include <string>
#include <vector>

#include "config/policy_config.h"

namespace kgw::policies {

class policy_reader;

enum class mask_function { redact, partial, hash, null, remove };
enum class mask_target { value, key, header };

struct mask_rule {
  mask_target target = mask_target::value;
  std::string header;               // target header: the header's key
  std::vector<std::string> fields;  // selectors as written: "email", "address.street", "items[*].card";
                                    // empty: the whole key or header value
  mask_function function = mask_function::redact;
  std::string replacement = "***";  // redact: the fixed string; partial: what replaces the hidden part
  int keep_last = 0;                // partial: characters kept at the end
  bool keep_domain = false;         // partial: keep "@domain" of an e-mail address
  config::source_mark at;
  bool operator==(const mask_rule&) const = default;
};

// One mask entry (a mapping); a mistake is reported through the reader (yaml_failure).
mask_rule read_mask(const policy_reader& reader, const YAML::Node& entry);
// The function part of a mask mapping (function, replacement, keep_last, keep_domain) into r,
// for entries that name their fields elsewhere (an encrypted field's readers).
void read_mask_function(const policy_reader& reader, const YAML::Node& entry, mask_rule& r);

}  // namespace kgw::policies

#pragma once
// Turns a verified client certificate into a principal name: Kafka's
// ssl.principal.mapping.rules, plus rules on subjectAltName entries (SPIFFE URIs, DNS names).
//
// Rules are tried in order; the first that yields a non-empty name wins. One rule per list
// entry (Kafka packs them into one comma-separated string; YAML lists need no such splitting).
// Surrounding whitespace of an entry is ignored.
//   DEFAULT                                   the full subject DN (cert_identity::subject_dn)
//   RULE:<regex>/<replacement>/[L|U]          on the subject DN
//   SAN:<TYPE>:<regex>/<replacement>/[L|U]    on each SAN of TYPE (DNS, URI, EMAIL or IP, any
//                                             case), in certificate order; first match wins
// The regex (ECMAScript) must match the WHOLE value, like Java's Matcher.matches(); the
// replacement is then expanded once. L / U lower- / upper-case the result (ASCII letters only;
// Java would also fold non-ASCII letters).
// Escapes, as in Kafka: inside the regex and the replacement, "\/" is a '/' that does not end
// the part; other backslash pairs in the regex keep their regex meaning.
// Replacement: "$n" inserts group n (Java's rule: digits are taken while the number stays a
// valid group, so "$12" is group 12 only when the regex has 12 groups, else group 1 then "2");
// "\$", "\\" and "\/" are a literal '$', '\' and '/'; "$$" is also a literal '$' (not valid in
// Kafka, accepted for convenience). A "$" before anything else, or "$n" naming a group the
// regex does not have, is a parse error (Kafka silently keeps such text; here it is a typo).
// Known divergence from Kafka: Kafka runs String.replaceAll after the whole-string match, so a
// regex that can also match the empty string at the end ("(.*)") appends the replacement a
// second time there; this implementation expands the replacement exactly once.
//
// Threading: immutable after parse(); map() is const and may run on any number of threads.
// Copies share the compiled rules.
#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/security/cert_identity.h"

namespace kgw::security {

class principal_mapping {
 public:
  // Regexes are compiled here, once; the error names the rule ([index] and text) and the fault
  // (bad regex, bad flags, missing '/', unknown SAN type, bad group reference, no rules).
  static std::expected<principal_mapping, std::string> parse(const std::vector<std::string>& rules);

  // Just DEFAULT: the principal is the full subject DN, as with Kafka's default.
  static principal_mapping default_rules();

  // nullopt: no rule matched, or every match produced an empty name; the gateway then
  // refuses the connection. Values longer than max_match_input never match a regex rule.
  std::optional<std::string> map(const cert_identity& identity) const;

  std::size_t rule_count() const;

  // Bounds the input of std::regex, whose matcher recurses per character: a huge DN or SAN
  // (from a trusted but careless CA) must not exhaust a worker's stack. Real DNs are < 1 KiB.
  static constexpr std::size_t max_match_input = 8192;

 private:
  struct rule;
  explicit principal_mapping(std::shared_ptr<const std::vector<rule>> rules);

  std::shared_ptr<const std::vector<rule>> rules_;
};

}  // namespace kgw::security

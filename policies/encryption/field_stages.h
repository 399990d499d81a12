#pragma once
// The encryption policy's record stages (policies/record.h), over one JSON parse per record:
//
// record_sealer (produce): every record written to an encrypted topic has the rule's fields
//   sealed (field_cipher.h tokens), or its whole value. A field's plaintext is its JSON text
//   (a number, an object: whatever was there), bound to the topic, the selector as written,
//   the key id and the record's key. A tombstone (null value) stays null. A value that is not
//   JSON is refused (verdict drop_invalid, with why) or whole-value sealed (not_json). The
//   data key comes from the key manager; a scope with no key ready is noted in `missing` and
//   the record is `retry`: the policy has the keys made and asks again.
//
// record_opener (fetch), per (principal, topic):
//   decrypt  (a principal the rule lets decrypt): each encrypted field goes back to its
//            plaintext. A field that does not open (not a token, tampered, moved, key erased or
//            never stored) follows on_error: the record is dropped, or the field nulled,
//            redacted or removed. Never delivered as if it were plaintext. A key not known yet
//            (or a KMS that cannot unwrap now) is `retry`.
//   token    everyone else, by default: tokens go as stored; anything in an encrypted field
//            that is not a token is redacted (plaintext written around the gateway is not shown).
//   mask     everyone else, with `others: {function: ..}`: redact, null and remove apply to the
//            token; hash and partial need the plaintext, so the field is opened inside the
//            gateway first (and redacted when it does not open).
// Records with the whole-value header (value: true, or not_json: encrypt_value) are handled as
// one field named "" in each mode.
// Threading: the opener and the compiled rule are immutable, shared by every worker; a sealer
// is made per request on the session's thread.
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/encryption/encryption_config.h"
#include "policies/encryption/key_manager.h"
#include "policies/json/selector.h"
#include "policies/masking/field_mask.h"
#include "policies/record.h"

namespace kgw::config {
struct principal_config;
}

namespace kgw::policies::encryption {

// An encryption rule with its selectors parsed (once per configuration generation).
struct compiled_rule {
  const encryption_rule* rule = nullptr;  // in the snapshot's configuration, which outlives this
  std::vector<json::selector> fields;
  std::optional<json::selector> subject;
  // Errors are "file:line:col: message".
  static std::expected<std::shared_ptr<const compiled_rule>, std::string> compile(const encryption_rule& rule);
};

class record_sealer final : public record_stage {
 public:
  record_sealer(const compiled_rule& rule, std::string_view topic, key_manager& keys, std::vector<key_scope>& missing)
      : rule_(rule), topic_(topic), keys_(keys), missing_(missing) {}
  bool passthrough() const override { return false; }
  void apply(const record_in& in, record_result& out, record_arena& arena) const override;

 private:
  const compiled_rule& rule_;
  std::string_view topic_;
  key_manager& keys_;
  std::vector<key_scope>& missing_;
};

class record_opener final : public record_stage {
 public:
  enum class mode { decrypt, token, mask };
  // How `who` reads a rule's fields: decrypt when the rule names it or one of its teams, else
  // the rule's mask for others, else the tokens.
  static mode mode_for(const encryption_rule& rule, const config::principal_config& who);
  // hash_key: for an `others` hash mask (the views' hash_key); an error names the rule.
  static std::expected<std::shared_ptr<const record_opener>, std::string> compile(
      std::shared_ptr<const compiled_rule> rule, std::string topic, mode m, const std::string& hash_key,
      std::shared_ptr<key_manager> keys);

  bool passthrough() const override { return false; }
  void apply(const record_in& in, record_result& out, record_arena& arena) const override;
  mode what() const { return mode_; }
  // One line for `explain`.
  std::string describe() const;

 private:
  record_opener() = default;
  // Appends a field token's plaintext (its JSON text) to out: ready, or why not (out as it was).
  key_state open_field(std::string_view token_text, std::string_view field, const record_in& in,
                       std::string& out) const;
  void apply_whole_value(const record_in& in, std::string_view header, record_result& out, record_arena& arena) const;

  std::shared_ptr<const compiled_rule> rule_;
  std::string topic_;
  mode mode_ = mode::token;
  std::optional<masking::field_mask> mask_;  // mode mask
  std::shared_ptr<key_manager> keys_;
};

}  // namespace kgw::policies::encryption

// Sealing and opening encrypted fields of records: see policies/encryption/field_stages.h.
#include "policies/encryption/field_stages.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "config/gateway_config.h"
#include "policies/json/json_doc.h"
#include "policies/json/json_edit.h"
#include "policies/json/selector_match.h"

namespace kgw::policies::encryption {
namespace {

// Per-thread scratch: one parse and one edit set per record, reused.
struct scratch {
  json::json_doc doc, plain_doc;
  json::json_edits edits;
  std::vector<std::pair<std::uint32_t, const json::selector*>> matches;
  std::string subject;
  std::string plain;  // one field's plaintext for an `others` mask; cleansed after each use
};
scratch& local() {
  thread_local scratch s;
  return s;
}

// The value of the subject field: a string's content or a number's text; nullopt when it is
// absent or of another type.
bool subject_value(const json::json_doc& doc, const json::selector& sel, std::string& out) {
  out.clear();
  bool found = false;
  json::for_each_match(doc, sel, json::match_mode::last, [&](std::uint32_t n) {
    if (doc.type(n) == json::json_type::string) {
      doc.string_value(n, out);
      found = true;
    } else if (doc.type(n) == json::json_type::number) {
      out.assign(doc.text(n));
      found = true;
    }
    return true;
  });
  return found && !out.empty();
}

const record_header* find_header(const record_in& in, std::string_view name) {
  for (const auto& h : in.headers)
    if (h.key == name) return &h;
  return nullptr;
}

// The record's headers without the whole-value header.
void headers_without_ours(const record_in& in, record_result& out) {
  out.headers.clear();
  for (const auto& h : in.headers)
    if (h.key != value_header) out.headers.push_back(h);
  out.headers_changed = true;
}

std::string header_text(std::string_view key_id) {
  std::string v(token_prefix);
  v.append(key_id);
  return v;
}

}  // namespace

std::expected<std::shared_ptr<const compiled_rule>, std::string> compiled_rule::compile(const encryption_rule& rule) {
  auto c = std::make_shared<compiled_rule>();
  c->rule = &rule;
  for (const auto& f : rule.fields) {
    auto s = json::parse_selector(f);
    if (!s) return std::unexpected(rule.at.str() + ": encrypted field '" + f + "' is not a selector");
    c->fields.push_back(std::move(*s));
  }
  if (!rule.subject.empty()) {
    auto s = json::parse_selector(rule.subject);
    if (!s) return std::unexpected(rule.at.str() + ": subject '" + rule.subject + "' is not a selector");
    c->subject = std::move(*s);
  }
  return c;
}

// ---- produce ----

void record_sealer::apply(const record_in& in, record_result& out, record_arena& arena) const {
  out.reset();
  if (!in.value) return;  // a tombstone stays one (compaction needs it)
  if (find_header(in, value_header)) {
    out.what = verdict::drop_invalid;
    out.why = "the record carries the gateway's encryption header (kgw-encryption); it is set by the gateway only";
    return;
  }
  const encryption_rule& r = *rule_.rule;
  auto& s = local();
  bool whole = r.whole_value;
  const bool json = static_cast<bool>(s.doc.parse(*in.value));
  if (!whole && !json) {
    if (r.not_json == not_json_action::refuse) {
      out.what = verdict::drop_invalid;
      out.why = "the value is not JSON, and this topic's fields are encrypted: it is not stored in plaintext";
      return;
    }
    whole = true;
  }
  s.matches.clear();
  if (!whole) {
    for (const auto& sel : rule_.fields)
      json::for_each_match(s.doc, sel, json::match_mode::all, [&](std::uint32_t n) {
        s.matches.emplace_back(n, &sel);
        return false;
      });
    if (s.matches.empty()) return;  // nothing to encrypt in this record
  }
  key_scope scope{r.kek, std::string(topic_), {}};
  if (rule_.subject) {
    if (!json || !subject_value(s.doc, *rule_.subject, s.subject)) {
      out.what = verdict::drop_invalid;
      out.why = "the subject field (the key that can shred it) is missing, empty, or not a string or number";
      return;
    }
    scope.subject = s.subject;
  }
  const auto key = keys_.sealing_key(scope, whole ? 1 : s.matches.size());
  if (!key) {
    if (std::find(missing_.begin(), missing_.end(), scope) == missing_.end()) missing_.push_back(std::move(scope));
    out.what = verdict::retry;
    out.why = "no data key ready yet";
    return;
  }
  if (whole) {
    auto sealed = seal_value(*key, {topic_, "", in.key}, *in.value);
    if (!sealed) {
      out.what = verdict::drop_invalid;
      out.why = "the value could not be encrypted";
      return;
    }
    out.value = arena.store(*sealed);
    out.value_changed = true;
    out.headers.assign(in.headers.begin(), in.headers.end());
    out.headers.push_back({value_header, arena.store(header_text(key->id))});
    out.headers_changed = true;
    out.sealed = 1;
    return;
  }
  s.edits.clear();
  for (const auto& [node, sel] : s.matches) {
    auto token = seal(*key, {topic_, sel->text, in.key}, s.doc.text(node));
    if (!token) {
      out.what = verdict::drop_invalid;
      out.why = "a field could not be encrypted";
      return;
    }
    std::string& buf = s.edits.text_buffer();
    const std::size_t begin = buf.size();
    buf.push_back('"');
    buf += *token;
    buf.push_back('"');
    s.edits.replace(node, begin);
  }
  std::string& dst = arena.scratch();
  s.edits.apply(s.doc, dst);
  out.value = dst;
  out.value_changed = true;
  out.sealed = static_cast<std::uint32_t>(s.matches.size());
}

// ---- fetch ----

record_opener::mode record_opener::mode_for(const encryption_rule& r, const config::principal_config& who) {
  const auto named = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  const bool may_decrypt = named(r.decrypt_principals, who.name) ||
                           std::any_of(who.teams.begin(), who.teams.end(),
                                       [&](const std::string& t) { return named(r.decrypt_teams, t); });
  return may_decrypt ? mode::decrypt : r.others ? mode::mask : mode::token;
}

std::expected<std::shared_ptr<const record_opener>, std::string> record_opener::compile(
    std::shared_ptr<const compiled_rule> rule, std::string topic, mode m, const std::string& hash_key,
    std::shared_ptr<key_manager> keys) {
  auto o = std::shared_ptr<record_opener>(new record_opener());
  if (m == mode::mask) {
    if (!rule->rule->others) return std::unexpected(rule->rule->at.str() + ": no mask for others");
    auto mask = masking::field_mask::compile(*rule->rule->others, hash_key);
    if (!mask) return std::unexpected(rule->rule->others->at.str() + ": " + mask.error());
    o->mask_ = std::move(*mask);
  }
  o->rule_ = std::move(rule);
  o->topic_ = std::move(topic);
  o->mode_ = m;
  o->keys_ = std::move(keys);
  return std::shared_ptr<const record_opener>(std::move(o));
}

key_state record_opener::open_field(std::string_view token_text, std::string_view field, const record_in& in,
                                     std::string& out) const {
  const auto id = token_key_id(token_text);
  if (!id) return key_state::missing;
  const auto k = keys_->opening_key(*id);
  if (k.state != key_state::ready) return k.state;
  // Tampered, moved, or sealed for another place: missing, final.
  return open_token_append(*k.key, {topic_, field, in.key}, token_text, out) ? key_state::ready : key_state::missing;
}

void record_opener::apply(const record_in& in, record_result& out, record_arena& arena) const {
  out.reset();
  if (!in.value) return;
  if (const record_header* h = find_header(in, value_header)) {
    apply_whole_value(in, h->value.value_or(std::string_view()), out, arena);
    return;
  }
  const encryption_rule& r = *rule_->rule;
  auto& s = local();
  const bool needs_plaintext =
      mode_ == mode::decrypt ||
      (mode_ == mode::mask && (mask_->function() == mask_function::hash || mask_->function() == mask_function::partial));
  if (r.whole_value || !s.doc.parse(*in.value)) {
    // A value the gateway did not seal (no header) on an encrypted topic: written around it.
    // Nothing of it is shown as if it had been governed.
    if (mode_ == mode::decrypt) ++out.undecryptable;
    out.what = verdict::drop_invalid;
    out.why = "a value on an encrypted topic that the gateway did not encrypt";
    return;
  }
  s.edits.clear();
  bool failed_drop = false, retry = false;
  auto redact = [&](std::uint32_t node) { s.edits.replace_text(node, "\"***\""); };
  auto on_error = [&](std::uint32_t node) {
    ++out.undecryptable;
    switch (r.on_error) {
      case open_error_action::drop: failed_drop = true; break;
      case open_error_action::null: s.edits.replace_text(node, "null"); break;
      case open_error_action::redact: redact(node); break;
      case open_error_action::remove: s.edits.remove(node); break;
    }
  };
  for (const auto& sel : rule_->fields) {
    json::for_each_match(s.doc, sel, json::match_mode::all, [&](std::uint32_t n) {
      const bool is_token = s.doc.type(n) == json::json_type::string && !s.doc.string_escaped(n) &&
                            looks_like_token(s.doc.string_raw(n));
      if (mode_ == mode::token) {
        if (!is_token) redact(n);
        return false;
      }
      if (!needs_plaintext) {  // mask on the token: redact, null, remove
        if (mask_->function() == mask_function::remove) {
          s.edits.remove(n);
          return false;
        }
        const std::size_t begin = s.edits.text_buffer().size();
        if (!mask_->mask_json(s.doc, n, s.edits.text_buffer())) {
          s.edits.text_buffer().resize(begin);
          redact(n);
        } else {
          s.edits.replace(n, begin);
        }
        return false;
      }
      // decrypt: the plaintext goes straight into the edit buffer, which is what is delivered;
      // mask: into scratch, cleansed once the mask has read it.
      std::string& dst = mode_ == mode::decrypt ? s.edits.text_buffer() : s.plain;
      const std::size_t begin = dst.size();
      const key_state state = is_token ? open_field(s.doc.string_raw(n), sel.text, in, dst) : key_state::missing;
      if (transient(state)) {
        retry = true;
        return true;
      }
      if (state != key_state::ready) {
        if (mode_ == mode::decrypt) on_error(n);
        else redact(n);
        return false;
      }
      ++out.opened;
      if (mode_ == mode::decrypt) {
        s.edits.replace(n, begin);
        return false;
      }
      // hash / partial of the plaintext: the mask sees the field as it was written.
      const std::size_t mask_begin = s.edits.text_buffer().size();
      if (s.plain_doc.parse(s.plain) && mask_->mask_json(s.plain_doc, json::json_doc::root(), s.edits.text_buffer())) {
        s.edits.replace(n, mask_begin);
      } else {
        s.edits.text_buffer().resize(mask_begin);
        redact(n);
      }
      OPENSSL_cleanse(s.plain.data(), s.plain.size());
      s.plain.clear();
      return false;
    });
    if (retry) break;
  }
  if (retry) {
    out.what = verdict::retry;
    out.why = "a data key is not available yet";
    return;
  }
  if (failed_drop) {
    out.what = verdict::drop_invalid;
    out.why = "an encrypted field did not decrypt";
    return;
  }
  if (s.edits.empty()) return;
  std::string& dst = arena.scratch();
  s.edits.apply(s.doc, dst);
  out.value = dst;
  out.value_changed = true;
}

void record_opener::apply_whole_value(const record_in& in, std::string_view header, record_result& out,
                                      record_arena& arena) const {
  const encryption_rule& r = *rule_->rule;
  if (mode_ == mode::token) return;  // as stored, header and all
  const bool needs_plaintext =
      mode_ == mode::decrypt || mask_->function() == mask_function::hash || mask_->function() == mask_function::partial;
  auto replace_value = [&](const masking::field_mask& m, std::string_view bytes) {
    std::string& dst = arena.scratch();
    switch (m.mask_bytes(bytes, dst)) {
      case masking::field_mask::bytes_result::value: out.value = dst; break;
      default: out.value.reset(); break;
    }
    out.value_changed = true;
    headers_without_ours(in, out);
  };
  if (!needs_plaintext) return replace_value(*mask_, *in.value);
  key_state state = key_state::missing;
  std::string plaintext;
  if (header.starts_with(token_prefix) && valid_key_id(header.substr(token_prefix.size()))) {
    const auto k = keys_->opening_key(header.substr(token_prefix.size()));
    state = k.state;
    if (k.state == key_state::ready) {
      auto plain = open_value(*k.key, {topic_, "", in.key}, *in.value);
      if (plain) plaintext = std::move(*plain);
      else state = key_state::missing;
    }
  }
  if (transient(state)) {
    out.what = verdict::retry;
    out.why = "a data key is not available yet";
    return;
  }
  if (state != key_state::ready) {
    if (mode_ == mode::mask) {
      out.value = arena.store("***");
      out.value_changed = true;
      headers_without_ours(in, out);
      return;
    }
    ++out.undecryptable;
    switch (r.on_error) {
      case open_error_action::drop:
      case open_error_action::remove:
        out.what = verdict::drop_invalid;
        out.why = "an encrypted value did not decrypt";
        return;
      case open_error_action::null: out.value.reset(); break;
      case open_error_action::redact: out.value = arena.store("***"); break;
    }
    out.value_changed = true;
    headers_without_ours(in, out);
    return;
  }
  ++out.opened;
  if (mode_ == mode::decrypt) {
    out.value = arena.store(plaintext);
    out.value_changed = true;
    headers_without_ours(in, out);
  } else {
    replace_value(*mask_, plaintext);
  }
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
}

std::string record_opener::describe() const {
  const encryption_rule& r = *rule_->rule;
  std::string what = r.whole_value ? std::string("the whole value") : std::string();
  for (const auto& f : r.fields) what += (what.empty() ? "" : ", ") + f;
  switch (mode_) {
    case mode::decrypt: {
      static const char* on_error[] = {"drops the record", "nulls the field", "redacts the field", "removes the field"};
      return "encrypted " + what + ": decrypted for this principal (a field that does not decrypt " +
             on_error[static_cast<int>(r.on_error)] + ")";
    }
    case mode::token: return "encrypted " + what + ": delivered as the ciphertext token (not decrypted)";
    case mode::mask: {
      const bool inside = mask_->function() == mask_function::hash || mask_->function() == mask_function::partial;
      return "encrypted " + what + ": " + mask_->describe() +
             (inside ? " (decrypted inside the gateway first: the mask needs the plaintext)" : " (not decrypted)");
    }
  }
  return {};
}

}  // namespace kgw::policies::encryption

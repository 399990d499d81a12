// The encryption policy's section reader: see policies/encryption/encryption_config.h.
#include "policies/encryption/encryption_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "policies/encryption/field_cipher.h"
#include "policies/policy_reader.h"

namespace kgw::policies {
namespace {

class encryption_reader : public policy_reader {
 public:
  using policy_reader::policy_reader;

  void read(std::string_view, const YAML::Node& value, encryption_section& into) const {
    require_map(value, "encryption");
    only_keys(value, "encryption", {"kms", "key_topic", "data_keys", "topics"});
    const bool settings = value["kms"] || value["key_topic"] || value["data_keys"];
    if (settings) {
      if (into.at.line != 0)
        fail(value, "encryption settings (kms, key_topic, data_keys) are given twice: here and at " + into.at.str() +
                        " (give them in one policy document)");
      into.at = mark_of(value);
    }
    if (auto k = value["kms"]) into.kms = kms(k);
    if (auto t = value["key_topic"]) key_topic(t, into);
    if (auto d = value["data_keys"]) {
      require_map(d, "encryption.data_keys");
      only_keys(d, "encryption.data_keys", {"max_uses", "max_age"});
      // GCM with random nonces: 2^32 seals per key at most (NIST SP 800-38D).
      if (auto n = d["max_uses"]) into.max_uses = static_cast<std::uint64_t>(integer(n, "max_uses", 1, 1ll << 32));
      if (auto n = d["max_age"]) {
        into.max_age = duration(n, "max_age");
        if (into.max_age < std::chrono::seconds(1)) fail(n, "max_age must be at least 1s");
      }
    }
    if (auto t = value["topics"])
      for (const auto& e : sequence(t, "encryption.topics")) entry(e, into);
  }

  kms_settings kms(const YAML::Node& n) const {
    require_map(n, "encryption.kms");
    only_keys(n, "encryption.kms", {"local", "pkcs11"});
    if (n.size() != 1) fail(n, "encryption.kms needs exactly one of 'local' or 'pkcs11'");
    kms_settings k;
    k.at = mark_of(n);
    if (auto l = n["local"]) {
      require_map(l, "kms.local");
      only_keys(l, "kms.local", {"key_file"});
      if (!l["key_file"]) fail(l, "kms.local needs 'key_file' (one '<KEK id> <base64 of 32 bytes>' per line)");
      k.what = kms_settings::kind::local;
      std::filesystem::path p(nonempty(l["key_file"], "kms.local.key_file"));
      if (p.is_relative()) p = std::filesystem::path(source()).parent_path() / p;
      k.key_file = p.lexically_normal().string();
    } else {
      const auto p = n["pkcs11"];
      require_map(p, "kms.pkcs11");
      only_keys(p, "kms.pkcs11", {"module", "token", "pin"});
      for (const char* key : {"module", "token", "pin"})
        if (!p[key]) fail(p, std::string("kms.pkcs11 needs '") + key + "'");
      k.what = kms_settings::kind::pkcs11;
      k.module = nonempty(p["module"], "kms.pkcs11.module");
      k.token = nonempty(p["token"], "kms.pkcs11.token");
      k.pin = secret(p["pin"], "kms.pkcs11.pin", {.names_nonempty = true, .trim_file_line_end = true});
    }
    return k;
  }

  void key_topic(const YAML::Node& n, encryption_section& into) const {
    if (n.IsMap()) {
      only_keys(n, "encryption.key_topic", {"name", "create"});
      if (auto c = n["create"]) into.create_key_topic = boolean(c, "key_topic.create");
      if (!n["name"]) return;
      into.key_topic = topic_name(n["name"], "key_topic.name");
    } else {
      into.key_topic = topic_name(n, "key_topic");
    }
  }

  std::string topic_name(const YAML::Node& n, const std::string& what) const {
    std::string t = nonempty(n, what);
    if (t.size() > 249 || t == "." || t == "..") fail(n, what + " is not a valid topic name");
    for (char c : t)
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '-'))
        fail(n, what + " is not a valid topic name (letters, digits, '.', '_', '-')");
    return t;
  }

  void entry(const YAML::Node& e, encryption_section& into) const {
    const std::string what = "an encryption.topics entry";
    require_map(e, what);
    only_keys(e, what, {"topics", "kek", "fields", "value", "subject", "decrypt", "others", "not_json", "on_error"});
    encryption_rule r;
    r.at = mark_of(e);
    if (!e["topics"]) fail(e, what + " needs 'topics'");
    r.topics = patterns(e["topics"], "topics", true);
    if (!e["kek"]) fail(e, what + " needs 'kek' (the id of its key-encryption key in the KMS)");
    r.kek = nonempty(e["kek"], "kek");
    if (!encryption::valid_key_id(r.kek)) fail(e["kek"], "a KEK id is 1-64 of A-Z a-z 0-9 . _ -");
    const auto fields = e["fields"], value = e["value"];
    if (fields && value) fail(value, "an encryption entry has both 'fields' and 'value': use one");
    if (fields) {
      for (const auto& f : items(fields, "fields")) r.fields.push_back(selector(f, "encrypted field"));
    } else if (value) {
      r.whole_value = boolean(value, "value");
      if (!r.whole_value) fail(value, "value: false encrypts nothing; name 'fields' instead");
    } else {
      fail(e, what + " needs 'fields' (which JSON fields to encrypt) or 'value: true' (the whole value)");
    }
    if (auto s = e["subject"]) r.subject = selector(s, "subject");
    if (auto d = e["decrypt"]) {
      require_map(d, "decrypt");
      only_keys(d, "decrypt", {"principals", "teams"});
      if (auto p = d["principals"]) r.decrypt_principals = string_list(p, "decrypt.principals");
      if (auto t = d["teams"]) r.decrypt_teams = string_list(t, "decrypt.teams");
    }
    if (auto o = e["others"]) {
      if (o.IsScalar() && o.Scalar() == "token") {
        r.others.reset();
      } else {
        if (!o.IsMap()) fail(o, "others must be 'token' or a mask such as {function: redact}");
        only_keys(o, "others", {"function", "replacement", "keep_last", "keep_domain"});
        mask_rule m;
        m.at = mark_of(o);
        m.fields = r.fields;
        read_mask_function(*this, o, m);
        if (r.whole_value && (m.function == mask_function::partial || m.function == mask_function::remove))
          fail(o, "a whole encrypted value can be given to others as the token, or masked with redact, hash or null");
        r.others = std::move(m);
      }
    }
    if (auto n = e["not_json"]) {
      const std::string v = scalar(n, "not_json");
      if (v == "refuse") r.not_json = not_json_action::refuse;
      else if (v == "encrypt_value") r.not_json = not_json_action::encrypt_value;
      else fail(n, "not_json must be refuse or encrypt_value, got '" + v + "'");
      if (r.whole_value) fail(n, "not_json applies to field encryption (a whole value is encrypted whatever it holds)");
    }
    if (auto n = e["on_error"]) {
      const std::string v = n.IsNull() && written_null(n) ? std::string("null") : scalar(n, "on_error");
      const auto a = config::lookup<open_error_action>(v, {{"drop", open_error_action::drop},
                                                           {"null", open_error_action::null},
                                                           {"redact", open_error_action::redact},
                                                           {"remove", open_error_action::remove}});
      if (!a) fail(n, "on_error must be drop, null, redact or remove, got '" + v + "'");
      if (r.whole_value && *a == open_error_action::remove)
        fail(n, "on_error: remove applies to fields; a whole value is dropped, nulled or redacted");
      r.on_error = *a;
    }
    into.rules.push_back(std::move(r));
  }
};

// Rules need a KMS, and a hash for others needs nothing here: masks of encrypted fields key
// their hash with the views' hash_key (checked where the policy compiles).
std::expected<void, std::string> finish_section(const config::policy_section& s) {
  const auto& section = static_cast<const encryption_section&>(s);
  if (!section.rules.empty() && !section.kms)
    return std::unexpected(section.rules.front().at.str() +
                           ": encrypted topics need a KMS (give 'encryption: {kms: ...}' in a policy document)");
  return {};
}

constexpr const char* section_keys[] = {"encryption"};

}  // namespace

const config::section_reader encryption_section_reader{section_keys, encryption_section::make,
                                                          read_section<encryption_reader, encryption_section>,
                                                          finish_section};

std::string encryption_section::summary() const {
  return std::to_string(rules.size()) + (rules.size() == 1 ? " encrypted topic rule" : " encrypted topic rules");
}

const encryption_rule* encryption_section::rule_for(std::string_view topic) const {
  for (const auto& r : rules)
    for (const auto& t : r.topics)
      if (t.matches(topic)) return &r;
  return nullptr;
}

}  // namespace kgw::policies

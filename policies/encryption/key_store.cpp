// The key topic's record format: see policies/encryption/key_store.h.
#include "policies/encryption/key_store.h"

#include <openssl/evp.h>

#include <charconv>

#include "policies/encryption/field_cipher.h"

namespace kgw::policies::encryption {
namespace {

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool valid_topic(std::string_view t) {
  if (t.empty() || t.size() > 249) return false;
  for (char c : t)
    if (!name_char(c)) return false;
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.size() != 32) return false;
  for (char c : t)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string encode_stored_key(const stored_key& k) {
  return "kgw1 kms=" + k.kms + " kek=" + k.kek + " topic=" + k.topic + " subject=" +
         (k.subject.empty() ? std::string("-") : k.subject) + " created=" + std::to_string(k.created_ms) +
         " wrapped=" + encode_base64(k.wrapped);
}

std::expected<stored_key, std::string> decode_stored_key(std::string_view id, std::string_view value) {
  auto bad = [&](const std::string& why) {
    return std::unexpected("key record '" + std::string(id.substr(0, 64)) + "': " + why);
  };
  if (!valid_key_id(id)) return bad("the record key is not a key id");
  if (!value.starts_with("kgw1 ")) return bad("not a kgw1 key record");
  value.remove_prefix(5);
  stored_key k;
  k.id = std::string(id);
  bool have_kms = false, have_kek = false, have_topic = false, have_subject = false, have_created = false,
       have_wrapped = false;
  while (!value.empty()) {
    const auto end = value.find(' ');
    const std::string_view field = value.substr(0, end);
    value = end == std::string_view::npos ? std::string_view() : value.substr(end + 1);
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) return bad("field without '='");
    const std::string_view name = field.substr(0, eq), v = field.substr(eq + 1);
    if (name == "kms" && !have_kms && valid_key_id(v)) {
      k.kms = std::string(v), have_kms = true;
    } else if (name == "kek" && !have_kek && valid_key_id(v)) {
      k.kek = std::string(v), have_kek = true;
    } else if (name == "topic" && !have_topic && valid_topic(v)) {
      k.topic = std::string(v), have_topic = true;
    } else if (name == "subject" && !have_subject && (v == "-" || valid_tag(v))) {
      if (v != "-") k.subject = std::string(v);
      have_subject = true;
    } else if (name == "created" && !have_created) {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), k.created_ms);
      if (ec != std::errc() || p != v.data() + v.size()) return bad("created is not a number");
      have_created = true;
    } else if (name == "wrapped" && !have_wrapped) {
      auto w = decode_base64(v);
      if (!w) return bad("wrapped is not base64");
      k.wrapped = std::move(*w), have_wrapped = true;
    } else if (name == "kms" || name == "kek" || name == "topic" || name == "subject" || name == "created" ||
               name == "wrapped") {
      return bad("bad or repeated '" + std::string(name) + "'");
    }
    // Unknown fields are for newer versions of the format: ignored.
  }
  if (!(have_kms && have_kek && have_topic && have_subject && have_created && have_wrapped))
    return bad("a field is missing (kms, kek, topic, subject, created, wrapped)");
  return k;
}

std::string subject_tag(std::string_view topic, std::string_view value) {
  std::string in = "kgw1 subject";
  append_part(in, topic);
  append_part(in, value);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

}  // namespace kgw::policies::encryption

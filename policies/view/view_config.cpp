// The view policy's section reader: see policies/view/view_config.h.
#include "policies/view/view_config.h"

#include <yaml-cpp/yaml.h>

#include "policies/policy_reader.h"

namespace kgw::policies {
namespace {

using config::source_mark;

class view_reader : public policy_reader {
 public:
  using policy_reader::policy_reader;

  void read(std::string_view key, const YAML::Node& value, view_section& into) const {
    if (key == "hash_key") return hash_key(value, into);
    for (const auto& e : sequence(value, "views")) entry(e, into);
  }

  void entry(const YAML::Node& e, view_section& into) const {
    require_map(e, "a views entry");
    only_keys(e, "a views entry", {"principals", "teams", "everyone", "topics", "where", "mask", "on_invalid_json"});
    view_rule v;
    topic_rule(e, "a views entry", "view", v.who, v.at, v.topics);
    if (auto w = e["where"]) {
      v.where = predicate(w, "where");
      v.where_at = mark_of(w);
    }
    if (auto ms = e["mask"]) {
      if (ms.IsMap()) {
        v.masks.push_back(read_mask(*this, ms));
      } else {
        for (const auto& m : sequence(ms, "mask")) v.masks.push_back(read_mask(*this, m));
      }
    }
    if (auto n = e["on_invalid_json"]) {
      if (n.IsScalar()) {
        if (n.Scalar() != "drop") fail(n, "on_invalid_json must be 'drop' or {replace_with: TEXT}, got '" + n.Scalar() + "'");
        v.on_invalid_json = invalid_json_action::drop;
      } else {
        if (!n.IsMap()) fail(n, "on_invalid_json must be 'drop' or {replace_with: TEXT}");
        only_keys(n, "on_invalid_json", {"replace_with"});
        const auto r = n["replace_with"];
        if (!r) fail(n, "on_invalid_json must be 'drop' or {replace_with: TEXT}");
        v.on_invalid_json = invalid_json_action::replace;
        v.invalid_json_replacement = scalar(r, "on_invalid_json replace_with");
      }
    }
    into.views.push_back(std::move(v));
  }

  // Inline text, {value: TEXT}, {file: PATH} or {env: VARIABLE}, as config/loader.cpp's secrets
  // (a key file's final newline is not part of the key).
  void hash_key(const YAML::Node& n, view_section& into) const {
    const source_mark here = mark_of(n);
    if (!into.hash_key.empty())
      fail(n, "hash_key is given twice: here and at " + into.hash_key_at.str() + " (give it in one policy document)");
    std::string key = secret(n, "hash_key", {.names_nonempty = true, .trim_file_line_end = true});
    // The key is a secret: its length is reported, never its contents.
    if (key.size() < 16)
      fail(n, "hash_key must be at least 16 bytes (it keys HMAC-SHA-256), got " + std::to_string(key.size()));
    into.hash_key = std::move(key);
    into.hash_key_at = here;
  }
};

// A `hash` mask needs a hash_key, which any document may give.
std::expected<void, std::string> finish_section(const config::policy_section& s) {
  const auto& section = static_cast<const view_section&>(s);
  if (section.hash_key.empty())
    for (const auto& v : section.views)
      for (const auto& m : v.masks)
        if (m.function == mask_function::hash)
          return std::unexpected(m.at.str() + ": a hash mask needs a hash_key (give 'hash_key' in a policy document)");
  return {};
}

constexpr const char* section_keys[] = {"views", "hash_key"};

}  // namespace

const config::section_reader view_section_reader{section_keys, view_section::make,
                                                    read_section<view_reader, view_section>, finish_section};

std::string view_section::summary() const {
  return std::to_string(views.size()) + (views.size() == 1 ? " view" : " views");
}

}  // namespace kgw::policies

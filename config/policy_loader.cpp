// Policy YAML -> policy_config, strict: every unknown key, wrong type, unknown operation or
// predicate/selector that does not parse is reported as "file:line:col: message" pointing at
// the offending node (yaml-cpp marks are 0-based; editors count from 1). Predicate and selector
// errors point at the offending character inside the scalar when the scalar can be mapped back
// to the source text exactly (one-line plain or quoted scalars, literal `|` blocks).
#include "config/policy_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "config/bounded_file.h"
#include "config/yaml_reader.h"
#include "policies/row_filter/predicate_syntax.h"
#include "protocol/api_keys.h"

namespace kgw::config {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Every operation an ACL may name, in the order messages list them (their names: name_of).
constexpr acl_operation acl_operations[] = {
    acl_operation::read,  acl_operation::write,    acl_operation::create,           acl_operation::delete_,
    acl_operation::alter, acl_operation::describe, acl_operation::describe_configs, acl_operation::alter_configs,
    acl_operation::idempotent_write, acl_operation::all,
};

// The operations Kafka accepts in an ACL for each resource type (AclEntry.supportedOperations;
// ClusterAction is broker-to-broker and not modelled here).
bool applies_to(acl_operation op, resource_type type) {
  using o = acl_operation;
  if (op == o::all) return true;
  switch (type) {
    case resource_type::topic:
      return op == o::read || op == o::write || op == o::create || op == o::delete_ || op == o::alter ||
             op == o::describe || op == o::describe_configs || op == o::alter_configs;
    case resource_type::group: return op == o::read || op == o::describe || op == o::delete_;
    case resource_type::transactional_id: return op == o::write || op == o::describe;
    case resource_type::cluster:
      return op == o::create || op == o::alter || op == o::describe || op == o::describe_configs ||
             op == o::alter_configs || op == o::idempotent_write;
  }
  return false;
}

const char* plural_of(resource_type type) {
  switch (type) {
    case resource_type::topic: return "topics";
    case resource_type::group: return "groups";
    case resource_type::transactional_id: return "transactional ids";
    case resource_type::cluster: return "the cluster";
  }
  return "?";
}

class document_parser : yaml_reader {
 public:
  document_parser(const std::string& source, std::string_view text, policy_config& cfg, source_mark& hash_key_at)
      : yaml_reader(source, text, "string"), cfg_(cfg), hash_key_at_(hash_key_at) {}

  void parse(const YAML::Node& doc) {
    if (!doc.IsDefined() || doc.IsNull()) return;  // an empty document (only comments) adds nothing
    if (!doc.IsMap()) fail(doc, "a policy document must be a mapping (acls, views, validation, pass_through_apis, hash_key)");
    only_keys(doc, "the policy document", {"acls", "views", "validation", "pass_through_apis", "hash_key"});
    if (auto n = doc["acls"]) {
      for (const auto& e : sequence(n, "acls")) acl_entry(e);
    }
    if (auto n = doc["views"]) {
      for (const auto& e : sequence(n, "views")) view_entry(e);
    }
    if (auto n = doc["validation"]) {
      for (const auto& e : sequence(n, "validation")) validation_entry(e);
    }
    if (auto n = doc["pass_through_apis"]) pass_through(n);
    if (auto n = doc["hash_key"]) hash_key(n);
  }

 private:
  const YAML::Node& sequence(const YAML::Node& n, const std::string& what) const {
    if (!n.IsSequence()) fail(n, "'" + what + "' must be a list");
    return n;
  }

  // A list, or one scalar standing for a list of one; never empty.
  std::vector<YAML::Node> items(const YAML::Node& n, const std::string& what) const {
    auto out = list(n, what);
    if (out.empty()) fail(n, what + " must not be empty");
    return out;
  }

  // Where character `offset` of scalar `n` is in the source, when the scalar maps back to the
  // text exactly; nullopt otherwise (folded or multi-line flow scalars, escapes).
  std::optional<source_mark> position_in_scalar(const YAML::Node& n, std::size_t offset) const {
    const YAML::Mark m = n.Mark();
    const std::string_view doc = text();
    const std::string& s = n.Scalar();
    if (m.pos < 0 || static_cast<std::size_t>(m.pos) >= doc.size() || offset > s.size()) return std::nullopt;
    const auto pos = static_cast<std::size_t>(m.pos);
    const char first = doc[pos];
    if (s.find('\n') == std::string::npos && first != '|' && first != '>') {
      const std::size_t quote = (first == '"' || first == '\'') ? 1 : 0;
      if (doc.substr(pos + quote, s.size()) != s) return std::nullopt;
      return source_mark{source(), m.line + 1, m.column + 1 + static_cast<int>(quote + offset)};
    }
    if (first != '|') return std::nullopt;
    // A literal block keeps its lines: content line i is source line (indicator line + 1 + i),
    // indented by the block's indentation (that of its first non-blank line).
    std::vector<std::string_view> src_lines;
    std::size_t at = doc.find('\n', pos);
    while (at != std::string::npos && at + 1 <= doc.size()) {
      const std::size_t end = doc.find('\n', at + 1);
      src_lines.push_back(doc.substr(at + 1, (end == std::string::npos ? doc.size() : end) - at - 1));
      at = end;
    }
    std::size_t indent = std::string::npos;
    for (auto l : src_lines) {
      const auto nb = l.find_first_not_of(' ');
      if (nb != std::string::npos) {
        indent = nb;
        break;
      }
    }
    if (indent == std::string::npos) return std::nullopt;
    const std::size_t line_index = static_cast<std::size_t>(std::count(s.begin(), s.begin() + offset, '\n'));
    const std::size_t line_start = s.rfind('\n', offset == 0 ? 0 : offset - 1);
    const std::size_t start = (offset == 0 || line_start == std::string::npos) ? 0 : line_start + 1;
    const std::size_t line_end = s.find('\n', start);
    const std::string_view content = std::string_view(s).substr(start, (line_end == std::string::npos ? s.size() : line_end) - start);
    if (line_index >= src_lines.size()) return std::nullopt;
    const std::string_view src = src_lines[line_index];
    if (!content.empty() && (src.size() < indent || src.substr(indent, content.size()) != content)) return std::nullopt;
    return source_mark{source(), m.line + 2 + static_cast<int>(line_index), static_cast<int>(indent + offset - start) + 1};
  }

  [[noreturn]] void fail_inside(const YAML::Node& n, const std::string& what, const policies::syntax_error& e) const {
    if (auto at = position_in_scalar(n, e.offset)) fail_at(*at, what + ": " + e.message);
    fail(n, what + ": " + e.message + " (at character " + std::to_string(e.offset + 1) + ")");
  }

  std::string selector(const YAML::Node& n, const std::string& what) const {
    std::string s = nonempty(n, what);
    if (auto e = policies::check_selector(s)) fail_inside(n, what + " '" + s + "'", *e);
    return s;
  }

  // principals: [..] | teams: [..] | everyone: true, exactly one.
  subject who(const YAML::Node& rule, const std::string& what) const {
    std::string found_key;
    for (const auto& kv : rule) {
      const std::string key = kv.first.Scalar();
      if (key != "principals" && key != "teams" && key != "everyone") continue;
      if (!found_key.empty())
        fail(kv.first, what + " names '" + found_key + "' and '" + key +
                           "': give exactly one of 'principals', 'teams' or 'everyone: true'");
      found_key = key;
    }
    if (found_key.empty()) fail(rule, what + " needs one of 'principals', 'teams' or 'everyone: true'");
    subject out;
    const YAML::Node n = rule[found_key];
    if (found_key == "everyone") {
      if (!boolean(n, what + " everyone")) fail(n, what + ": 'everyone' can only be true (or name principals or teams)");
      out.what = subject::kind::everyone;
      return out;
    }
    out.what = found_key == "principals" ? subject::kind::principals : subject::kind::teams;
    for (const auto& e : items(n, what + " " + found_key)) {
      std::string name = nonempty(e, what + " " + found_key + " entry");
      // Kafka writes principals as "User:name"; the gateway's principal names have no type.
      if (out.what == subject::kind::principals && name.starts_with("User:")) name.erase(0, 5);
      if (name.empty()) fail(e, what + " principals entry must name a principal");
      out.names.push_back(std::move(name));
    }
    return out;
  }

  resource_pattern pattern(const YAML::Node& n, const std::string& what, resource_type type) const {
    resource_pattern p;
    if (n.IsScalar()) {
      p.text = nonempty(n, what);
      // Topic names cannot contain '*' or '?' (legal: letters, digits, '.', '_', '-'), so a
      // literal with them is a pattern written without its braces.
      if (type == resource_type::topic && p.text != "*" && p.text.find_first_of("*?") != std::string::npos)
        fail(n, what + " '" + p.text + "' is a literal topic name; for a pattern write {glob: \"" + p.text + "\"}");
      return p;
    }
    if (!n.IsMap() || n.size() != 1)
      fail(n, what + " must be a name, {prefix: TEXT} or {glob: PATTERN}");
    only_keys(n, what, {"prefix", "glob"});
    const auto kv = *n.begin();
    p.type = kv.first.Scalar() == "prefix" ? pattern_type::prefix : pattern_type::glob;
    p.text = nonempty(kv.second, what + " " + kv.first.Scalar());
    return p;
  }

  std::vector<resource_pattern> patterns(const YAML::Node& n, const std::string& what, resource_type type) const {
    std::vector<resource_pattern> out;
    if (n.IsMap()) {
      out.push_back(pattern(n, what + " entry", type));
      return out;
    }
    for (const auto& e : items(n, what)) out.push_back(pattern(e, what + " entry", type));
    return out;
  }

  void acl_entry(const YAML::Node& e) {
    const std::string what = "acl";
    require_map(e, "an acls entry");
    only_keys(e, "an acls entry",
              {"principals", "teams", "everyone", "allow", "deny", "topics", "groups", "transactional_ids", "cluster"});
    acl_rule base;
    base.who = who(e, what);
    base.at = mark_of(e);
    const auto allow = e["allow"], deny = e["deny"];
    if (allow && deny) fail(deny, "an acls entry has both 'allow' and 'deny': write two entries");
    if (!allow && !deny) fail(e, "an acls entry needs 'allow: [operations]' or 'deny: [operations]'");
    base.allow = static_cast<bool>(allow);
    const YAML::Node ops_node = allow ? allow : deny;
    const std::string ops_what = allow ? "allow" : "deny";
    std::vector<std::pair<acl_operation, YAML::Node>> ops;
    for (const auto& o : items(ops_node, ops_what)) {
      const std::string name = scalar(o, ops_what + " entry");
      const auto* hit = std::find_if(std::begin(acl_operations), std::end(acl_operations),
                                     [&](acl_operation x) { return iequals(name_of(x), name); });
      if (hit == std::end(acl_operations)) {
        std::string list;
        for (const auto x : acl_operations) list += std::string(list.empty() ? "" : ", ") + name_of(x);
        fail(o, "unknown operation '" + name + "' (expected one of: " + list + ")");
      }
      if (std::none_of(ops.begin(), ops.end(), [&](const auto& p) { return p.first == *hit; }))
        ops.emplace_back(*hit, o);
    }
    for (const auto& op : ops) base.operations.push_back(op.first);

    auto add = [&](resource_type type, std::vector<resource_pattern> resources) {
      for (const auto& [op, node] : ops) {
        if (applies_to(op, type)) continue;
        std::string list;
        for (const auto x : acl_operations)
          if (applies_to(x, type)) list += std::string(list.empty() ? "" : ", ") + name_of(x);
        fail(node, std::string(name_of(op)) + " does not apply to " + plural_of(type) + " (Kafka allows on " +
                       plural_of(type) + ": " + list + ")");
      }
      acl_rule r = base;
      r.type = type;
      r.resources = std::move(resources);
      cfg_.acls.push_back(std::move(r));
    };
    bool any = false;
    if (auto n = e["topics"]) {
      add(resource_type::topic, patterns(n, "topics", resource_type::topic));
      any = true;
    }
    if (auto n = e["groups"]) {
      add(resource_type::group, patterns(n, "groups", resource_type::group));
      any = true;
    }
    if (auto n = e["transactional_ids"]) {
      add(resource_type::transactional_id, patterns(n, "transactional_ids", resource_type::transactional_id));
      any = true;
    }
    if (auto n = e["cluster"]) {
      if (!boolean(n, "cluster")) fail(n, "'cluster' can only be true (leave it out otherwise)");
      add(resource_type::cluster, {});
      any = true;
    }
    if (!any) fail(e, "an acls entry needs at least one of 'topics', 'groups', 'transactional_ids' or 'cluster: true'");
  }

  // `function: null` unquoted is YAML's null, not the string "null": accept it only when the
  // source really says null (an empty `function:` is also a null node, and an error).
  bool written_null(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.pos < 0 || text().empty()) return true;
    const std::string_view at = text().substr(static_cast<std::size_t>(m.pos));
    for (std::string_view w : {"null", "Null", "NULL"})
      if (at.starts_with(w) && (at.size() == w.size() || !std::isalnum(static_cast<unsigned char>(at[w.size()])) )) return true;
    return false;
  }

  mask_rule mask_entry(const YAML::Node& m) const {
    require_map(m, "a mask entry");
    only_keys(m, "a mask entry", {"in", "field", "fields", "header", "function", "replacement", "keep_last", "keep_domain"});
    mask_rule r;
    r.at = mark_of(m);
    if (auto n = m["in"]) {
      const std::string in = scalar(n, "mask in");
      const auto target = lookup<mask_target>(
          in, {{"value", mask_target::value}, {"key", mask_target::key}, {"header", mask_target::header}});
      if (!target) fail(n, "mask 'in' must be value, key or header, got '" + in + "'");
      r.target = *target;
    }
    const auto field = m["field"], fields = m["fields"];
    if (field && fields) fail(fields, "a mask has both 'field' and 'fields': use one");
    if (field) r.fields.push_back(selector(field, "mask field"));
    if (fields)
      for (const auto& f : items(fields, "mask fields")) r.fields.push_back(selector(f, "mask field"));
    if (r.target == mask_target::value && r.fields.empty())
      fail(m, "a mask on the value needs 'field' or 'fields' (only key and header masks may cover the whole value)");
    if (auto h = m["header"]) {
      if (r.target != mask_target::header) fail(h, "'header' belongs to masks with 'in: header'");
      r.header = nonempty(h, "mask header");
    } else if (r.target == mask_target::header) {
      fail(m, "a mask with 'in: header' needs 'header: NAME'");
    }
    const auto fn = m["function"];
    if (!fn) fail(m, "a mask needs 'function' (redact, partial, hash, null or remove)");
    std::string name;
    if (fn.IsNull() && written_null(fn))
      name = "null";
    else
      name = scalar(fn, "mask function");
    const auto function = lookup<mask_function>(name, {{"redact", mask_function::redact},
                                                       {"partial", mask_function::partial},
                                                       {"hash", mask_function::hash},
                                                       {"null", mask_function::null},
                                                       {"remove", mask_function::remove}});
    if (!function) fail(fn, "mask function must be one of redact, partial, hash, null, remove, got '" + name + "'");
    r.function = *function;
    if (auto n = m["replacement"]) {
      if (r.function != mask_function::redact && r.function != mask_function::partial)
        fail(n, "'replacement' applies to redact and partial masks only");
      r.replacement = scalar(n, "mask replacement");
    }
    if (auto n = m["keep_last"]) {
      if (r.function != mask_function::partial) fail(n, "'keep_last' applies to partial masks only");
      r.keep_last = static_cast<int>(integer(n, "mask keep_last", 0, 1 << 20));
    }
    if (auto n = m["keep_domain"]) {
      if (r.function != mask_function::partial) fail(n, "'keep_domain' applies to partial masks only");
      r.keep_domain = boolean(n, "mask keep_domain");
    }
    if (r.function == mask_function::partial && r.keep_last == 0 && !r.keep_domain)
      fail(m, "a partial mask needs 'keep_last: N' or 'keep_domain: true' (to hide everything, use redact)");
    return r;
  }

  void view_entry(const YAML::Node& e) {
    require_map(e, "a views entry");
    only_keys(e, "a views entry", {"principals", "teams", "everyone", "topics", "where", "mask", "on_invalid_json"});
    view_rule v;
    v.who = who(e, "view");
    v.at = mark_of(e);
    const auto topics = e["topics"];
    if (!topics) fail(e, "a views entry needs 'topics'");
    v.topics = patterns(topics, "topics", resource_type::topic);
    if (auto w = e["where"]) {
      v.where = nonempty(w, "where");
      v.where_at = mark_of(w);
      if (auto err = policies::check_predicate(v.where)) fail_inside(w, "where", *err);
    }
    if (auto ms = e["mask"]) {
      if (ms.IsMap()) {
        v.masks.push_back(mask_entry(ms));
      } else {
        for (const auto& m : sequence(ms, "mask")) v.masks.push_back(mask_entry(m));
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
    cfg_.views.push_back(std::move(v));
  }

  void validation_entry(const YAML::Node& e) {
    require_map(e, "a validation entry");
    only_keys(e, "a validation entry", {"principals", "teams", "everyone", "topics", "require_json", "required_fields"});
    validation_rule v;
    v.who = who(e, "validation");
    v.at = mark_of(e);
    const auto topics = e["topics"];
    if (!topics) fail(e, "a validation entry needs 'topics'");
    v.topics = patterns(topics, "topics", resource_type::topic);
    if (auto n = e["require_json"]) v.require_json = boolean(n, "require_json");
    if (auto n = e["required_fields"]) {
      for (const auto& f : items(n, "required_fields")) v.required_fields.push_back(selector(f, "required field"));
      if (auto rj = e["require_json"]; rj && !v.require_json)
        fail(rj, "require_json: false contradicts required_fields (fields can only be checked in JSON)");
      v.require_json = true;
    }
    cfg_.validations.push_back(std::move(v));
  }

  void pass_through(const YAML::Node& n) {
    for (const auto& e : items(n, "pass_through_apis")) {
      const std::string s = scalar(e, "pass_through_apis entry");
      std::int16_t key = -1;
      if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
        key = static_cast<std::int16_t>(integer(e, "pass_through_apis entry", 0, 32767));
      } else {
        for (const auto& a : protocol::api_names)
          if (iequals(a.name, s)) key = a.key;
        if (key < 0) fail(e, "unknown Kafka API '" + s + "' in pass_through_apis (use its name, e.g. DescribeAcls, or its key, e.g. 29)");
      }
      if (std::find(cfg_.pass_through_apis.begin(), cfg_.pass_through_apis.end(), key) == cfg_.pass_through_apis.end())
        cfg_.pass_through_apis.push_back(key);
    }
  }

  // Inline text, {value: TEXT}, {file: PATH} or {env: VARIABLE}, as config/loader.cpp's secrets
  // (a key file's final newline is not part of the key).
  void hash_key(const YAML::Node& n) {
    const source_mark here = mark_of(n);
    if (!cfg_.hash_key.empty())
      fail(n, "hash_key is given twice: here and at " + hash_key_at_.str() + " (give it in one policy document)");
    std::string key = secret(n, "hash_key", {.names_nonempty = true, .trim_file_line_end = true});
    // The key is a secret: its length is reported, never its contents.
    if (key.size() < 16)
      fail(n, "hash_key must be at least 16 bytes (it keys HMAC-SHA-256), got " + std::to_string(key.size()));
    cfg_.hash_key = std::move(key);
    hash_key_at_ = here;
  }

  policy_config& cfg_;
  source_mark& hash_key_at_;
};

}  // namespace

std::optional<std::string> policy_loader::add_node(const YAML::Node& doc, const std::string& source,
                                                    std::string_view text) {
  try {
    document_parser(source, text, cfg_, hash_key_at_).parse(doc);
  } catch (const yaml_failure& e) {
    return e.message;
  } catch (const YAML::Exception& e) {
    return syntax_error_message(source, e);
  }
  return std::nullopt;
}

std::optional<std::string> policy_loader::add_string(std::string_view text, const std::string& source) {
  std::vector<YAML::Node> docs;
  try {
    docs = load_yaml_documents(text, source, false);
  } catch (const yaml_failure& e) {
    return e.message;
  } catch (const YAML::Exception& e) {
    return syntax_error_message(source, e);
  }
  for (const auto& d : docs)
    if (auto err = add_node(d, source, text)) return err;
  return std::nullopt;
}

std::optional<std::string> policy_loader::add_file(const std::string& path) {
  const auto text = read_bounded_file(path, max_config_file_bytes);
  if (!text) return path + ":1:1: policy file: " + text.error();
  cfg_.files.push_back(path);
  return add_string(*text, path);
}

std::optional<std::string> policy_loader::finish() {
  if (cfg_.hash_key.empty())
    for (const auto& v : cfg_.views)
      for (const auto& m : v.masks)
        if (m.function == mask_function::hash)
          return m.at.str() + ": a hash mask needs a hash_key (give 'hash_key' in a policy document)";
  return std::nullopt;
}

std::expected<std::vector<std::string>, std::string> policy_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return std::unexpected("no such policy file or directory '" + path + "'");
  if (fs::is_regular_file(status)) return std::vector<std::string>{path};
  if (!fs::is_directory(status)) return std::unexpected("'" + path + "' is neither a file nor a directory");
  std::vector<std::string> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const auto ext = it->path().extension();
    if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  if (ec) return std::unexpected("cannot list directory '" + path + "': " + ec.message());
  // An empty directory would silently turn every ACL off; a typo deserves an error instead.
  if (files.empty()) return std::unexpected("directory '" + path + "' has no *.yaml or *.yml policy files");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace kgw::config

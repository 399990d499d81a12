// Reads one mask entry: see policies/masking/mask_config.h.
#include "policies/masking/mask_config.h"

#include <yaml-cpp/yaml.h>

#include "policies/policy_reader.h"

namespace kgw::policies {

mask_rule read_mask(const policy_reader& reader, const YAML::Node& m) {
  reader.require_map(m, "a mask entry");
  reader.only_keys(m, "a mask entry", {"in", "field", "fields", "header", "function", "replacement", "keep_last", "keep_domain"});
  mask_rule r;
  r.at = reader.mark_of(m);
  if (auto n = m["in"]) {
    const std::string in = reader.scalar(n, "mask in");
    const auto target = config::lookup<mask_target>(
        in, {{"value", mask_target::value}, {"key", mask_target::key}, {"header", mask_target::header}});
    if (!target) reader.fail(n, "mask 'in' must be value, key or header, got '" + in + "'");
    r.target = *target;
  }
  const auto field = m["field"], fields = m["fields"];
  if (field && fields) reader.fail(fields, "a mask has both 'field' and 'fields': use one");
  if (field) r.fields.push_back(reader.selector(field, "mask field"));
  if (fields)
    for (const auto& f : reader.items(fields, "mask fields")) r.fields.push_back(reader.selector(f, "mask field"));
  if (r.target == mask_target::value && r.fields.empty())
    reader.fail(m, "a mask on the value needs 'field' or 'fields' (only key and header masks may cover the whole value)");
  if (auto h = m["header"]) {
    if (r.target != mask_target::header) reader.fail(h, "'header' belongs to masks with 'in: header'");
    r.header = reader.nonempty(h, "mask header");
  } else if (r.target == mask_target::header) {
    reader.fail(m, "a mask with 'in: header' needs 'header: NAME'");
  }
  read_mask_function(reader, m, r);
  return r;
}

void read_mask_function(const policy_reader& reader, const YAML::Node& m, mask_rule& r) {
  const auto fn = m["function"];
  if (!fn) reader.fail(m, "a mask needs 'function' (redact, partial, hash, null or remove)");
  std::string name;
  if (fn.IsNull() && reader.written_null(fn))
    name = "null";
  else
    name = reader.scalar(fn, "mask function");
  const auto function = config::lookup<mask_function>(name, {{"redact", mask_function::redact},
                                                     {"partial", mask_function::partial},
                                                     {"hash", mask_function::hash},
                                                     {"null", mask_function::null},
                                                     {"remove", mask_function::remove}});
  if (!function) reader.fail(fn, "mask function must be one of redact, partial, hash, null, remove, got '" + name + "'");
  r.function = *function;
  if (auto n = m["replacement"]) {
    if (r.function != mask_function::redact && r.function != mask_function::partial)
      reader.fail(n, "'replacement' applies to redact and partial masks only");
    r.replacement = reader.scalar(n, "mask replacement");
  }
  if (auto n = m["keep_last"]) {
    if (r.function != mask_function::partial) reader.fail(n, "'keep_last' applies to partial masks only");
    r.keep_last = static_cast<int>(reader.integer(n, "mask keep_last", 0, 1 << 20));
  }
  if (auto n = m["keep_domain"]) {
    if (r.function != mask_function::partial) reader.fail(n, "'keep_domain' applies to partial masks only");
    r.keep_domain = reader.boolean(n, "mask keep_domain");
  }
  if (r.function == mask_function::partial && r.keep_last == 0 && !r.keep_domain)
    reader.fail(m, "a partial mask needs 'keep_last: N' or 'keep_domain: true' (to hide everything, use redact)");
}

}  // namespace kgw::policies

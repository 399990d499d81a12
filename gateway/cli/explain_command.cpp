#include "gateway/cli/explain_command.h"

#include <algorithm>
#include <cerrno>
#include <future>
#include <thread>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"
#include "gateway/cli_args.h"
#include "gateway/config_extensions.h"
#include <openssl/rand.h>

#include "gateway/key_topic.h"
#include "policies/encryption/encryption_config.h"
#include "policies/encryption/field_stages.h"
#include "policies/encryption/key_manager.h"
#include "policies/quota/quota_book.h"
#include "policies/json/json_doc.h"
#include "policies/json/json_text.h"
#include "policies/policy_set.h"
#include "protocol/api_keys.h"
#include "policies/view/view_config.h"

namespace kgw::gateway {
namespace {

using policies::acl_operation;
using policies::resource_type;

constexpr const char* explain_usage =
    "usage: kafka-gateway explain --config FILE --principal NAME --topic TOPIC\n"
    "\n"
    "Says in plain words what the policies in FILE mean for one principal and one topic: its\n"
    "teams and attributes, whether ACLs are on, which operations on the topic are allowed or\n"
    "denied and by which rule, its group, transactional-id and cluster rules, the rows and\n"
    "fields it sees, produce validation, and where each rule was written. No broker is contacted.\n";

constexpr const char* preview_usage =
    "usage: kafka-gateway preview --config FILE --principal NAME --topic TOPIC [--envelope]\n"
    "       kafka-gateway preview --config FILE --decrypt-as NAME --topic TOPIC [--envelope]\n"
    "                             [--upstream HOST:PORT,...]\n"
    "\n"
    "Reads one record value per line on stdin and prints what NAME would receive for each: the\n"
    "delivered value, or a line starting with '# dropped' and why. With --envelope each input\n"
    "line is {\"key\": .., \"value\": .., \"headers\": {\"name\": \"value\"}, \"timestamp\": ..} (key\n"
    "and value any JSON, or a string for raw text) and the output is an envelope too.\n"
    "On an encrypted topic, --principal takes values as a producer writes them: they are encrypted\n"
    "with a throw-away key as the gateway would store them, then given to NAME (decrypted, tokens\n"
    "or masked, then its view); no broker is contacted. --decrypt-as takes values as the topic\n"
    "stores them (tokens, e.g. read from the broker with kcat) and opens them as NAME would get\n"
    "them, with the configured KMS and the key topic on the cluster (--upstream, or the\n"
    "configured bootstrap); ciphertexts are bound to their record's key, so give keyed\n"
    "records as --envelope lines.\n"
    "Exits 1 if NAME may not read TOPIC.\n";

struct options {
  std::string config, principal, topic, upstream;
  bool envelope = false;
  bool stored = false;  // --decrypt-as: input is what the topic stores
  bool help = false;
};

parsed parse(int argc, char** argv, options& out, bool preview) {
  cli_args args(argc, argv);
  while (args.next()) {
    const std::string_view arg = args.name();
    auto take = [&](std::string& into) -> parsed {
      auto v = args.value();
      if (!v || v->empty()) return bad(std::string(arg) + " needs a value");
      into = std::string(*v);
      return {};
    };
    parsed err;
    if (arg == "-h" || arg == "--help")
      out.help = true;
    else if (arg == "--config" || arg == "-c")
      err = take(out.config);
    else if (arg == "--principal")
      err = take(out.principal);
    else if (arg == "--topic")
      err = take(out.topic);
    else if (preview && arg == "--envelope")
      out.envelope = true;
    else if (preview && arg == "--decrypt-as")
      err = take(out.principal), out.stored = true;
    else if (preview && arg == "--upstream")
      err = take(out.upstream);
    else
      return bad("unknown argument '" + std::string(args.raw()) + "'");
    if (!err) return err;
  }
  if (out.help) return {};
  if (out.config.empty()) return bad(std::string("missing --config FILE"));
  if (out.principal.empty()) return bad(std::string(preview ? "missing --principal NAME (or --decrypt-as NAME)" : "missing --principal NAME"));
  if (out.topic.empty()) return bad(std::string("missing --topic TOPIC"));
  // Kafka tools write principals as User:name; the gateway's names have no type.
  if (out.principal.starts_with("User:")) out.principal.erase(0, 5);
  if (out.principal.empty()) return bad(std::string("--principal needs a name after 'User:'"));
  return {};
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : sep) + i;
  return s;
}

std::string subject_words(const config::subject& who) {
  switch (who.what) {
    case config::subject::kind::everyone: return "everyone";
    case config::subject::kind::principals: return "principal " + join(who.names);
    case config::subject::kind::teams: return "team " + join(who.names);
  }
  return "?";
}

void print_rules(const std::vector<std::string>& lines, const char* none) {
  if (lines.empty()) std::printf("    %s\n", none);
  for (const auto& l : lines) std::printf("    %s\n", l.c_str());
}

std::string api_words(std::int16_t key) {
  const auto* api = protocol::find_api(key);
  return api ? std::string(api->name) + " (" + std::to_string(key) + ")" : "API key " + std::to_string(key);
}

void explain_encryption(const config::policy_config& pol, const config::principal_config& who, const options& o,
                        const std::vector<const policies::view_rule*>& views) {
  const auto section = pol.section<policies::encryption_section>();
  const auto* rule = section->rule_for(o.topic);
  if (!rule) return;
  std::vector<std::string> fields = rule->fields;
  const std::string what = rule->whole_value ? "the whole value" : "fields " + join(fields);
  std::printf("\nEncryption of %s (rule at %s):\n", o.topic.c_str(), rule->at.str().c_str());
  std::printf("  stored encrypted: %s (AES-256-GCM, KEK %s in the %s KMS%s)\n", what.c_str(), rule->kek.c_str(),
              section->kms && section->kms->what == policies::kms_settings::kind::pkcs11 ? "pkcs11" : "local",
              rule->subject.empty() ? "" : (", one data key per value of '" + rule->subject + "': shreddable").c_str());
  auto compiled = policies::encryption::compiled_rule::compile(*rule);
  if (!compiled) {
    std::printf("  POLICY ERROR: %s\n", compiled.error().c_str());
    return;
  }
  const auto m = policies::encryption::record_opener::mode_for(*rule, who);
  auto opener = policies::encryption::record_opener::compile(*compiled, o.topic, m,
                                                             pol.section<policies::view_section>()->hash_key, nullptr);
  std::printf("  %s reads them: %s\n", o.principal.c_str(),
              opener ? opener->get()->describe().c_str() : ("POLICY ERROR: " + opener.error()).c_str());
  if (m != policies::encryption::record_opener::mode::decrypt && !views.empty()) {
    std::vector<std::string> touched;
    for (const auto* v : views)
      for (const auto& mask : v->masks)
        for (const auto& f : mask.fields)
          if (std::find(fields.begin(), fields.end(), f) != fields.end()) touched.push_back(f);
    if (!touched.empty())
      std::printf("  its view masks %s, which it may not decrypt: the masks apply to the tokens (a hash of a token\n"
                  "  is not a hash of the value; let it decrypt for that)\n",
                  join(touched).c_str());
  }
  std::printf("  records anyone writes to %s are encrypted before the broker stores them; %s\n", o.topic.c_str(),
              rule->whole_value ? "a null value (tombstone) stays null"
              : rule->not_json == policies::not_json_action::refuse
                  ? "a value that is not JSON is refused (INVALID_RECORD)"
                  : "a value that is not JSON is encrypted whole");
}

// What quotas.rules and per_address set for the principal (explain shows one principal).
void explain_quotas(const config::policy_config& pol, const config::principal_config& who, const options& o) {
  const auto section = pol.section<policies::quota_section>();
  if (section->empty()) return;
  policies::quota::quota_meters meters;  // explain measures nothing
  const policies::quota::quota_book book(*section, meters);
  const auto q = book.for_principal(who);
  std::printf("\nQuotas of %s (per gateway instance%s):\n", o.principal.c_str(),
              section->instances > 1 ? (", the configured rates divided by " + std::to_string(section->instances) +
                                        " instances")
                                           .c_str()
                                     : "");
  auto rate = [](const std::optional<policies::quota::quota_limit>& l, const char* unit) {
    if (!l) return std::string("unlimited");
    return std::to_string(static_cast<long long>(l->per_second)) + " " + unit + "/s (rule at " + l->at.str() + ")";
  };
  std::printf("  produce: %s\n  fetch: %s\n  requests: %s\n", rate(q ? q->produce : std::nullopt, "bytes").c_str(),
              rate(q ? q->fetch : std::nullopt, "bytes").c_str(), rate(q ? q->requests : std::nullopt, "requests").c_str());
  if (book.by_client_id())
    std::printf("  (for connections that name no client id listed in a rule; rules with client_ids set their own)\n");
  if (q && q->max_connections) std::printf("  open connections: at most %d\n", *q->max_connections);
  if (q && q->connections_per_second)
    std::printf("  new connections: at most %.0f per second\n", *q->connections_per_second);
  std::printf("  measured over %d windows of %lld ms; over a quota, responses carry throttle_time_ms and the client\n"
              "  waits that long\n",
              section->samples, static_cast<long long>(section->window.count()));
  if (const auto* a = book.per_address()) {
    std::printf("  every client address:%s%s\n",
                a->max_connections ? (" at most " + std::to_string(*a->max_connections) + " open connections").c_str() : "",
                a->connections_per_second
                    ? (", at most " + std::to_string(static_cast<long long>(*a->connections_per_second)) + " new per second")
                          .c_str()
                    : "");
  }
}

void explain(const config::gateway_config& cfg, policies::policy_set& set, const options& o) {
  const auto& pol = cfg.policies;
  const auto acls = pol.section<policies::acl_section>();
  const auto& who = set.principal(o.principal);
  const bool listed = cfg.principals.contains(o.principal);
  std::printf("Principal %s%s\n", o.principal.c_str(),
              listed ? "" : " (not listed under 'principals': no teams, no attributes)");
  if (listed) {
    std::printf("  teams: %s\n", who.teams.empty() ? "none" : join(who.teams).c_str());
    std::vector<std::string> attrs;
    for (const auto& [k, v] : who.attributes) attrs.push_back(k + " = " + v);
    std::printf("  attributes: %s\n", attrs.empty() ? "none" : join(attrs).c_str());
  }

  const auto acl = set.acl(o.principal);
  if (acl->enabled())
    std::printf("\nACLs are on (%zu rules): anything not allowed is denied.\n", acls->rules.size());
  else
    std::printf("\nACLs are off (no 'acls' configured): every operation is allowed.\n");

  std::printf("\nTopic %s\n", o.topic.c_str());
  std::vector<std::string> allowed, denied;
  for (auto op : {acl_operation::read, acl_operation::write, acl_operation::create, acl_operation::delete_,
                  acl_operation::alter, acl_operation::describe, acl_operation::describe_configs,
                  acl_operation::alter_configs})
    (acl->allowed(op, resource_type::topic, o.topic) ? allowed : denied).push_back(policies::name_of(op));
  std::printf("  allowed: %s\n", allowed.empty() ? "nothing" : join(allowed).c_str());
  std::printf("  denied: %s\n", denied.empty() ? "nothing" : join(denied).c_str());
  if (acl->enabled()) {
    std::printf("  by these rules:\n");
    print_rules(acl->describe(resource_type::topic, o.topic), "none matches this topic (denied by default)");
    std::printf("  (an allow of Read, Write, Delete or Alter includes Describe, of AlterConfigs DescribeConfigs;\n"
                "   a deny wins over any allow)\n");
    std::printf("\nConsumer group rules:\n");
    print_rules(acl->describe(resource_type::group, ""), "none (no consumer group may be used)");
    std::printf("Transactional id rules:\n");
    print_rules(acl->describe(resource_type::transactional_id, ""), "none (no transactional id may be used)");
    std::printf("Cluster rules:\n");
    print_rules(acl->describe(resource_type::cluster, ""), "none");
    if (!acls->pass_through_apis.empty()) {
      std::vector<std::string> apis;
      for (auto k : acls->pass_through_apis) apis.push_back(api_words(k));
      std::printf("Relayed without authorization: %s\n", join(apis).c_str());
    }
  }

  const auto tp = set.for_topic(o.principal, o.topic);
  const auto views = policies::applicable_views(pol, who, o.topic);
  std::printf("\nWhat %s reads from %s:\n", o.principal.c_str(), o.topic.c_str());
  if (!acl->allowed(acl_operation::read, resource_type::topic, o.topic)) {
    std::printf("  nothing: %s may not Read %s (TOPIC_AUTHORIZATION_FAILED)\n", o.principal.c_str(), o.topic.c_str());
  } else if (!tp->error.empty()) {
    std::printf("  POLICY ERROR, the gateway denies this topic: %s\n", tp->error.c_str());
  } else if (views.empty()) {
    std::printf("  every record, every field as it is (no view applies)\n");
  } else {
    for (const auto* v : views) std::printf("  view rule for %s at %s\n", subject_words(v->who).c_str(), v->at.str().c_str());
    if (tp->view)
      for (const auto& line : tp->view->describe()) std::printf("    %s\n", line.c_str());
    else
      std::printf("    every record, every field as it is\n");
    if (tp->view) {
      // Configured principals whose rules compile alike get the same view: the transform cache
      // governs a batch once for all of them (policies/transform_cache.h).
      std::vector<std::string> alike;
      for (const auto& [name, _] : cfg.principals)
        if (name != o.principal && set.for_topic(name, o.topic)->view == tp->view) alike.push_back(name);
      if (!alike.empty())
        std::printf("  the same view as %s: batches governed once for all of them%s\n", join(alike).c_str(),
                    cfg.transform_cache_bytes ? "" : " (if gateway.transform_cache were on)");
    }
  }

  explain_encryption(pol, who, o, views);

  const auto checks = policies::applicable_validations(pol, who, o.topic);
  std::printf("\nWhat %s may produce to %s:\n", o.principal.c_str(), o.topic.c_str());
  if (!acl->allowed(acl_operation::write, resource_type::topic, o.topic)) {
    std::printf("  nothing: %s may not Write %s (TOPIC_AUTHORIZATION_FAILED)\n", o.principal.c_str(), o.topic.c_str());
  } else if (!tp->error.empty()) {
    std::printf("  POLICY ERROR, the gateway denies this topic: %s\n", tp->error.c_str());
  } else if (checks.empty()) {
    std::printf("  any record: produce is not validated\n");
  } else {
    for (const auto* v : checks)
      std::printf("  validation rule for %s at %s\n", subject_words(v->who).c_str(), v->at.str().c_str());
    if (tp->validator)
      for (const auto& line : tp->validator->describe()) std::printf("    %s\n", line.c_str());
  }

  explain_quotas(pol, who, o);

  if (!pol.files.empty()) std::printf("\nPolicies loaded from: %s\n", join(pol.files).c_str());
}

// One input line of preview --envelope, as the record the gateway would fetch.
struct envelope {
  std::optional<std::string> key, value;
  std::vector<std::string> header_names;
  std::vector<std::optional<std::string>> header_values;
  std::int64_t timestamp = -1;
  bool has_timestamp = false;
};

// JSON null -> nullopt; a string -> its content (raw bytes); anything else -> its JSON text.
std::optional<std::string> bytes_of(const policies::json::json_doc& doc, std::uint32_t n) {
  switch (doc.type(n)) {
    case policies::json::json_type::null: return std::nullopt;
    case policies::json::json_type::string: {
      std::string s;
      doc.string_value(n, s);
      return s;
    }
    default: return std::string(doc.text(n));
  }
}

parsed parse_envelope(std::string_view line, envelope& out) {
  policies::json::json_doc doc;
  if (auto parsed = doc.parse(line); !parsed)
    return bad("not JSON: " + std::string(parsed.error().message) + " at character " + std::to_string(parsed.error().offset + 1));
  if (doc.type(doc.root()) != policies::json::json_type::object) return bad(std::string("not a JSON object"));
  for (auto m = doc.first_child(doc.root()); m != policies::json::npos; m = doc.node(m).next) {
    if (doc.key_equals(m, "key")) {
      out.key = bytes_of(doc, m);
    } else if (doc.key_equals(m, "value")) {
      out.value = bytes_of(doc, m);
    } else if (doc.key_equals(m, "headers")) {
      if (doc.type(m) != policies::json::json_type::object) return bad(std::string("\"headers\" must be an object"));
      for (auto h = doc.first_child(m); h != policies::json::npos; h = doc.node(h).next) {
        std::string name;
        policies::json::unescape_append(doc.key_raw(h), name);
        out.header_names.push_back(std::move(name));
        out.header_values.push_back(bytes_of(doc, h));
      }
    } else if (doc.key_equals(m, "timestamp")) {
      const auto t = doc.text(m);
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out.timestamp);
      if (doc.type(m) != policies::json::json_type::number || ec != std::errc{} || p != t.data() + t.size())
        return bad(std::string("\"timestamp\" must be an integer (milliseconds since the epoch)"));
      out.has_timestamp = true;
    } else {
      return bad("unknown member \"" + std::string(doc.key_raw(m)) + "\" (expected key, value, headers, timestamp)");
    }
  }
  return {};
}

// A key or value for the output envelope: JSON text as it is, anything else as a JSON string.
void append_bytes(std::optional<std::string_view> b, std::string& out) {
  if (!b) {
    out += "null";
    return;
  }
  policies::json::json_doc doc;
  if (doc.parse(*b))
    out += *b;
  else
    policies::json::quote_append(*b, out);
}

std::string drop_reason(const policies::record_result& r) {
  if (r.what == policies::verdict::drop) return "# dropped: the row filter excludes this record";
  if (!r.why.empty()) return "# dropped: " + std::string(r.why);
  return "# dropped: the value is not JSON (on_invalid_json: drop)";
}

namespace enc = policies::encryption;

// preview --principal on an encrypted topic: a throw-away KEK and an in-memory key store, so the
// values are sealed as the gateway would store them without touching the real KMS or cluster.
class throwaway_kms final : public enc::kms {
 public:
  throwaway_kms() { RAND_bytes(kek_.data(), static_cast<int>(kek_.size())); }
  const char* kind() const override { return "throw-away"; }
  std::vector<std::string> key_ids() const override { return {}; }
  std::expected<std::string, std::string> wrap(std::string_view kek, std::string_view dek,
                                               const enc::key_material& k) const override {
    return enc::aead_seal(kek_, enc::dek_wrap_context(kek, dek), {reinterpret_cast<const char*>(k.data()), k.size()});
  }
  std::expected<enc::key_material, std::string> unwrap(std::string_view kek, std::string_view dek,
                                                       std::string_view wrapped) const override {
    auto plain = enc::aead_open(kek_, enc::dek_wrap_context(kek, dek), wrapped);
    if (!plain || plain->size() != 32) return std::unexpected(std::string("does not unwrap"));
    enc::key_material k;
    std::copy(plain->begin(), plain->end(), reinterpret_cast<char*>(k.data()));
    return k;
  }
  std::expected<void, std::string> health() const override { return {}; }

 private:
  enc::key_material kek_{};
};

class throwaway_store final : public enc::key_store {
 public:
  std::string describe() const override { return "preview's key store"; }
  std::expected<void, std::string> write(std::span<const enc::store_record>) override { return {}; }
  std::expected<void, std::string> read_new(
      const std::function<void(std::string_view, std::optional<std::string_view>)>&) override {
    return {};
  }
};

// The key manager preview opens (and seals) with: the configured one for --decrypt-as, else a
// throw-away one.
std::expected<std::shared_ptr<enc::key_manager>, std::string> preview_keys(const config::gateway_config& cfg,
                                                                          const policies::encryption_section& section,
                                                                          const options& o) {
  std::shared_ptr<enc::key_manager> km;
  if (!o.stored) {
    km = std::make_shared<enc::key_manager>(std::make_shared<throwaway_kms>(), std::make_unique<throwaway_store>());
  } else {
    auto kms = enc::open_kms(*section.kms);
    if (!kms) return std::unexpected(kms.error());
    key_topic_settings ts;
    ts.bootstrap = o.upstream;
    for (const auto& b : cfg.upstream_bootstrap)
      if (o.upstream.empty()) ts.bootstrap += (ts.bootstrap.empty() ? "" : ",") + b.str();
    if (ts.bootstrap.empty())
      return std::unexpected(std::string("--decrypt-as reads the key topic: give --upstream (the configuration runs an embedded broker)"));
    ts.client = upstream_client_settings(cfg);
    ts.topic = section.key_topic;
    ts.create = false;
    auto store = key_topic::open(ts);
    if (!store) return std::unexpected(store.error());
    km = std::make_shared<enc::key_manager>(std::move(*kms), std::move(*store));
  }
  if (auto started = km->start(); !started) return std::unexpected(started.error());
  return km;
}

// Seals `in` as the gateway would on produce (making keys as needed); false and why on refusal.
std::expected<void, std::string> seal_for_preview(const enc::compiled_rule& rule, std::string_view topic,
                                                  enc::key_manager& keys, policies::record_in& in,
                                                  policies::record_result& sealed, policies::record_arena& arena) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<enc::key_scope> missing;
    enc::record_sealer(rule, topic, keys, missing).apply(in, sealed, arena);
    if (sealed.what != policies::verdict::retry) break;
    std::promise<std::expected<void, std::string>> made;
    keys.prepare(std::move(missing), [&](std::expected<void, std::string> r) { made.set_value(std::move(r)); });
    if (auto r = made.get_future().get(); !r) return r;
  }
  if (sealed.what != policies::verdict::keep)
    return std::unexpected("refused on produce: " + std::string(sealed.why));
  if (sealed.value_changed) in.value = sealed.value;
  if (sealed.headers_changed) in.headers = sealed.headers;
  return {};
}

int preview(const config::gateway_config& cfg, policies::policy_set& set, const options& o) {
  const auto acl = set.acl(o.principal);
  if (!acl->allowed(acl_operation::read, resource_type::topic, o.topic)) {
    std::fprintf(stderr, "%s may not read %s: TOPIC_AUTHORIZATION_FAILED\n", o.principal.c_str(), o.topic.c_str());
    return 1;
  }
  const auto tp = set.for_topic(o.principal, o.topic);
  if (!tp->error.empty()) {
    std::fprintf(stderr, "%s may not read %s: the policy does not compile: %s\n", o.principal.c_str(), o.topic.c_str(),
                 tp->error.c_str());
    return 1;
  }
  // The record stages as the gateway would run them: decrypt (encrypted topics), then the view.
  const auto section = cfg.policies.section<policies::encryption_section>();
  const auto* rule = section->rule_for(o.topic);
  std::shared_ptr<enc::key_manager> keys;
  std::shared_ptr<const enc::compiled_rule> compiled;
  std::shared_ptr<const enc::record_opener> opener;
  if (rule) {
    auto km = preview_keys(cfg, *section, o);
    if (!km) {
      std::fprintf(stderr, "preview: %s is encrypted: %s\n", o.topic.c_str(), km.error().c_str());
      return 1;
    }
    keys = std::move(*km);
    auto c = enc::compiled_rule::compile(*rule);
    auto op = c ? enc::record_opener::compile(*c, o.topic, enc::record_opener::mode_for(*rule, set.principal(o.principal)),
                                              cfg.policies.section<policies::view_section>()->hash_key, keys)
                : std::unexpected(c.error());
    if (!op) {
      std::fprintf(stderr, "%s may not read %s: the policy does not compile: %s\n", o.principal.c_str(),
                   o.topic.c_str(), op.error().c_str());
      return 1;
    }
    compiled = std::move(*c);
    opener = std::move(*op);
    if (!o.stored)
      std::fprintf(stderr, "# %s is encrypted: each value is sealed with a throw-away key as the gateway would store "
                           "it, then given to %s\n", o.topic.c_str(), o.principal.c_str());
    else if (!o.envelope)
      std::fprintf(stderr, "# ciphertexts are bound to their record's key: for keyed records give --envelope lines "
                           "({\"key\": .., \"value\": ..}, e.g. kcat -f '{\"key\": \"%%k\", \"value\": %%s}\\n')\n");
  }
  std::vector<const policies::record_stage*> stages;
  if (opener) stages.push_back(opener.get());
  if (tp->view) stages.push_back(tp->view.get());
  int status = 0;
  std::string line;
  std::size_t line_no = 0;
  policies::record_arena arena;
  policies::record_result result, next, sealed;
  std::vector<policies::record_header> staged_headers;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    envelope env;
    if (o.envelope) {
      if (auto read = parse_envelope(line, env); !read) {
        std::printf("# skipped: line %zu is not an envelope: %s\n", line_no, read.error().c_str());
        status = 1;
        continue;
      }
    } else {
      env.value = line;
    }
    std::vector<policies::record_header> headers;
    for (std::size_t i = 0; i < env.header_names.size(); ++i) {
      policies::record_header h;
      h.key = env.header_names[i];
      if (env.header_values[i]) h.value = *env.header_values[i];
      headers.push_back(h);
    }
    policies::record_in in;
    if (env.key) in.key = *env.key;
    if (env.value) in.value = *env.value;
    in.headers = headers;
    in.timestamp = env.timestamp;

    arena.clear();
    result.reset();
    if (compiled && !o.stored) {
      if (auto ok = seal_for_preview(*compiled, o.topic, *keys, in, sealed, arena); !ok) {
        std::printf("# %s\n", ok.error().c_str());
        continue;
      }
    }
    if (!stages.empty()) {
      // A key the manager has not read yet (--decrypt-as): it reads the key topic again.
      for (int i = 0; i < 50; ++i) {
        policies::run_stages(stages, in, result, next, staged_headers, arena);
        if (result.what != policies::verdict::retry) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    if (result.what != policies::verdict::keep) {
      std::printf("%s\n", drop_reason(result).c_str());
      continue;
    }
    const auto value = result.value_changed ? result.value : in.value;
    if (!o.envelope) {
      std::string out = value ? std::string(*value) : "null";
      std::printf("%s\n", out.c_str());
      continue;
    }
    const auto key = result.key_changed ? result.key : in.key;
    std::string out = "{\"key\": ";
    append_bytes(key, out);
    out += ", \"value\": ";
    append_bytes(value, out);
    const std::span<const policies::record_header> hs =
        result.headers_changed ? std::span<const policies::record_header>(result.headers) : in.headers;
    if (!hs.empty()) {
      out += ", \"headers\": {";
      for (std::size_t i = 0; i < hs.size(); ++i) {
        if (i) out += ", ";
        policies::json::quote_append(hs[i].key, out);
        out += ": ";
        if (hs[i].value)
          policies::json::quote_append(*hs[i].value, out);
        else
          out += "null";
      }
      out += "}";
    }
    if (env.has_timestamp) out += ", \"timestamp\": " + std::to_string(env.timestamp);
    out += "}";
    std::printf("%s\n", out.c_str());
  }
  return status;
}

int run(int argc, char** argv, bool is_preview) {
  const char* name = is_preview ? "preview" : "explain";
  options o;
  const auto error = parse(argc, argv, o, is_preview);
  if (auto code = early_exit(name, error, o.help, is_preview ? preview_usage : explain_usage)) return *code;
  auto cfg = config::load_file(o.config, config_extensions());
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().c_str());
    return 1;
  }
  policies::policy_set set(*cfg);
  int status = 0;
  if (is_preview)
    status = preview(*cfg, set, o);
  else
    explain(*cfg, set, o);
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "%s: cannot write to stdout: %s\n", name, std::strerror(errno));
    return 1;
  }
  return status;
}

}  // namespace

int run_explain_command(int argc, char** argv) { return run(argc, argv, false); }
int run_preview_command(int argc, char** argv) { return run(argc, argv, true); }

}  // namespace kgw::gateway

#include "gateway/cli/keys_command.h"

#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "config/loader.h"
#include "gateway/cli_args.h"
#include "gateway/config_extensions.h"
#include "gateway/key_topic.h"
#include "policies/encryption/encryption_config.h"
#include "policies/encryption/field_cipher.h"
#include "policies/encryption/key_manager.h"
#include "policies/encryption/pkcs11_kms.h"

namespace kgw::gateway {
namespace enc = policies::encryption;
namespace {

constexpr const char* usage_text =
    "usage: kafka-gateway keys list    --config FILE [--upstream HOST:PORT,...]\n"
    "       kafka-gateway keys shred   --config FILE --topic TOPIC --subject VALUE [--upstream ...]\n"
    "       kafka-gateway keys rotate  --config FILE [--topic TOPIC] [--upstream ...]\n"
    "       kafka-gateway keys new-kek --config FILE --kek ID\n"
    "\n"
    "Field-encryption keys, through the key topic the configuration names (encryption.key_topic).\n"
    "  list     the data keys the key topic holds (wrapped): id, topic, subject tag, KEK, KMS, created\n"
    "  shred    tombstone every key of one subject (the value of the rule's `subject` field) on a\n"
    "           topic: every gateway drops them and nobody can read those fields again\n"
    "  rotate   every gateway makes new keys for TOPIC (or all topics) from now on\n"
    "  new-kek  pkcs11: generate KEK ID in the token; local: print a line for the key file\n"
    "\n"
    "  --upstream HOST:PORT,...  the cluster to use instead of the configured one (needed when\n"
    "                            the configuration runs an embedded broker)\n";

struct options {
  std::string action, config, topic, subject, kek, upstream;
  bool subject_given = false, help = false;
};

parsed parse(int argc, char** argv, options& o) {
  cli_args args(argc, argv);
  while (args.next()) {
    const auto a = args.name();
    auto value = [&](const char* what, std::string& into) { return args.value_into(what, into); };
    parsed r;
    if (a == "-h" || a == "--help") o.help = true;
    else if (a == "--config" || a == "-c") r = value("--config", o.config);
    else if (a == "--topic") r = value("--topic", o.topic);
    else if (a == "--subject") r = value("--subject", o.subject), o.subject_given = true;
    else if (a == "--kek") r = value("--kek", o.kek);
    else if (a == "--upstream") r = value("--upstream", o.upstream);
    else if (o.action.empty() && !a.starts_with("-")) o.action = std::string(a);
    else return bad("unknown argument '" + std::string(args.raw()) + "'");
    if (!r) return r;
  }
  if (o.help) return {};
  if (o.action != "list" && o.action != "shred" && o.action != "rotate" && o.action != "new-kek")
    return bad(o.action.empty() ? "which action: list, shred, rotate or new-kek" : "unknown action '" + o.action + "'");
  if (o.config.empty()) return bad("missing --config FILE");
  if (o.action == "shred" && (o.topic.empty() || !o.subject_given || o.subject.empty()))
    return bad("shred needs --topic TOPIC and --subject VALUE");
  if (o.action == "new-kek" && !enc::valid_key_id(o.kek)) return bad("new-kek needs --kek ID (1-64 of A-Z a-z 0-9 . _ -)");
  return {};
}

int fail(const std::string& why) {
  std::fprintf(stderr, "keys: %s\n", why.c_str());
  return 1;
}

std::string iso_time(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int new_kek(const policies::kms_settings& s, const std::string& id) {
  if (s.what == policies::kms_settings::kind::local) {
    enc::key_material k;
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) return fail("no randomness");
    std::printf("%s %s\n", id.c_str(),
                enc::encode_base64({reinterpret_cast<const char*>(k.data()), k.size()}).c_str());
    std::fprintf(stderr, "keys: append this line to %s (keep it mode 600)\n", s.key_file.c_str());
    return 0;
  }
  auto kms = enc::pkcs11_kms::open({s.module, s.token, s.pin});
  if (!kms) return fail(kms.error());
  if (auto made = (*kms)->generate_kek(id); !made) return fail(made.error());
  std::printf("KEK %s generated in token %s\n", id.c_str(), s.token.c_str());
  return 0;
}

}  // namespace

int run_keys_command(int argc, char** argv) {
  options o;
  const auto args = parse(argc, argv, o);
  if (auto code = early_exit("keys", args, o.help, usage_text)) return *code;
  auto cfg = config::load_file(o.config, config_extensions());
  if (!cfg) return fail(cfg.error());
  const auto section = cfg->policies.section<policies::encryption_section>();
  if (!section->kms) return fail(o.config + " configures no encryption (no 'encryption: {kms: ...}')");
  if (o.action == "new-kek") return new_kek(*section->kms, o.kek);

  key_topic_settings ts;
  if (!o.upstream.empty()) {
    ts.bootstrap = o.upstream;
  } else {
    if (cfg->upstream_bootstrap.empty())
      return fail("the configuration runs an embedded broker, which lives only inside its gateway: give --upstream");
    for (const auto& b : cfg->upstream_bootstrap) ts.bootstrap += (ts.bootstrap.empty() ? "" : ",") + b.str();
  }
  ts.client = upstream_client_settings(*cfg);
  ts.topic = section->key_topic;
  ts.create = false;  // an operator's tool never makes the key topic
  auto store = key_topic::open(ts);
  if (!store) return fail(store.error());
  // A catalogue: reads the key topic, opens nothing (no KMS needed).
  enc::key_manager keys(nullptr, std::move(*store));
  if (auto started = keys.start(); !started) return fail(started.error());

  if (o.action == "list") {
    for (const auto& k : keys.list())
      std::printf("%s topic=%s subject=%s kek=%s kms=%s created=%s\n", k.id.c_str(), k.topic.c_str(),
                  k.subject.empty() ? "-" : k.subject.c_str(), k.kek.c_str(), k.kms.c_str(), iso_time(k.created_ms).c_str());
    return 0;
  }
  if (o.action == "shred") {
    const auto* rule = section->rule_for(o.topic);
    if (!rule) return fail("topic '" + o.topic + "' is not encrypted by " + o.config);
    if (rule->subject.empty())
      return fail("topic '" + o.topic + "' has no per-subject keys (its encryption rule names no 'subject')");
    auto n = keys.shred(o.topic, o.subject);
    if (!n) return fail(n.error());
    std::printf("shredded %zu key(s) of subject %s on topic %s\n", *n, o.subject.c_str(), o.topic.c_str());
    return 0;
  }
  if (auto r = keys.request_rotation(o.topic); !r) return fail(r.error());
  std::printf("rotation requested for %s\n", o.topic.empty() ? "every topic" : ("topic " + o.topic).c_str());
  return 0;
}

}  // namespace kgw::gateway
